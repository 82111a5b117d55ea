import { Tensor, ShapeError, shapeStr } from '../tensor.js';
import { apply, sameFloatDType, type OpDef } from '../autograd.js';
import { gemm } from '../kernels/dispatch.js';
import type { FloatArray } from '../kernels/types.js';
import { emptyLike, requireFloat } from './util.js';
import { add } from './elementwise.js';
import { reshape } from './shape.js';

interface MatmulAttrs {
  transA: boolean;
  transB: boolean;
}

function dims(t: Tensor, trans: boolean): [number, number] {
  const r = t.shape[t.ndim - 2]!;
  const c = t.shape[t.ndim - 1]!;
  return trans ? [c, r] : [r, c];
}

/**
 * op(A) @ op(B) over the last two dims; leading (batch) dims must match, or B may be 2-D and
 * shared by every batch item. Transposes are flags, so no VJP ever copies a transposed matrix.
 */
export const matmulOp: OpDef<MatmulAttrs> = {
  name: 'matmul',
  forward(inputs, { transA, transB }) {
    const [a, b] = inputs as [Tensor, Tensor];
    sameFloatDType('matmul', [a, b]);
    const [M, K] = dims(a, transA);
    const [K2, N] = dims(b, transB);
    if (K !== K2) throw new ShapeError(`matmul: inner dims differ: ${shapeStr(a.shape)}${transA ? 'ᵀ' : ''} @ ${shapeStr(b.shape)}${transB ? 'ᵀ' : ''}`);
    const batchA = a.shape.slice(0, -2);
    const batchB = b.shape.slice(0, -2);
    const shared = batchB.length === 0;
    if (!shared && (batchA.length !== batchB.length || batchA.some((d, i) => d !== batchB[i]))) {
      throw new ShapeError(`matmul: batch dims differ: ${shapeStr(a.shape)} @ ${shapeStr(b.shape)}`);
    }
    const batch = batchA.reduce((x, y) => x * y, 1);
    const out = emptyLike(a, [...batchA, M, N]);
    for (let i = 0; i < batch; i++) {
      gemm(transA, transB, M, N, K, a.data as FloatArray, i * M * K, b.data as FloatArray, shared ? 0 : i * K * N, out.data as FloatArray, i * M * N, false);
    }
    return out;
  },
  vjp: (g, { inputs: [a, b], attrs: { transA, transB }, needs }) => {
    const ga = !needs[0] ? null : transA ? mm(b!, g, transB, true) : mm(g, b!, false, !transB);
    let gb: Tensor | null = null;
    if (needs[1]) {
      if (b!.ndim === 2 && a!.ndim > 2) {
        // B was shared across the batch: fold the batch into the rows before contracting.
        const a2 = reshape(a!, [-1, a!.shape[a!.ndim - 1]!]);
        const g2 = reshape(g, [-1, g.shape[g.ndim - 1]!]);
        gb = transA ? matmulRaw(a!, g, b!) : transB ? mm(g2, a2, true, false) : mm(a2, g2, true, false);
      } else {
        gb = transB ? mm(g, a!, true, transA) : mm(a!, g, !transA, false);
      }
    }
    return [ga, gb];
  },
};

function matmulRaw(_a: Tensor, _g: Tensor, b: Tensor): Tensor {
  throw new ShapeError(`matmul: transposed batched A with a shared B ${shapeStr(b.shape)} is not supported`);
}

function mm(a: Tensor, b: Tensor, transA: boolean, transB: boolean): Tensor {
  return apply(matmulOp, [a, b], { transA, transB });
}

/** Matrix product over the last two dims (see matmulOp for batching). */
export function matmul(a: Tensor, b: Tensor, opts: Partial<MatmulAttrs> = {}): Tensor {
  requireFloat(a, 'matmul');
  if (a.ndim < 2 || b.ndim < 2) throw new ShapeError(`matmul: needs at least 2-D operands, got ${shapeStr(a.shape)} and ${shapeStr(b.shape)}`);
  return mm(a, b, opts.transA ?? false, opts.transB ?? false);
}

/** y = x Wᵀ + b (PyTorch's Linear), x of shape [..., in]. */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  if (weight.ndim !== 2) throw new ShapeError(`linear: weight must be 2-D [out, in], got ${shapeStr(weight.shape)}`);
  if (x.shape[x.ndim - 1] !== weight.shape[1]) {
    throw new ShapeError(`linear: input ${shapeStr(x.shape)} has ${x.shape[x.ndim - 1]} features, weight ${shapeStr(weight.shape)} expects ${weight.shape[1]}`);
  }
  const x2 = x.ndim === 2 ? x : reshape(x, [-1, weight.shape[1]!]);
  let y = mm(x2, weight, false, true);
  if (bias) y = add(y, bias);
  return x.ndim === 2 ? y : reshape(y, [...x.shape.slice(0, -1), weight.shape[0]!]);
}
