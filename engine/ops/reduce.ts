import { Tensor, ShapeError, shapeStr, sizeOf, type Shape } from '../tensor.js';
import { apply, type OpDef } from '../autograd.js';
import { broadcastShapes, reduceSum } from '../kernels/broadcast.js';
import { binaryKernel, BinaryCode } from '../kernels/elementwise.js';
import { emptyLike, normAxes, normAxis, requireFloat, sameShape } from './util.js';
import { mul, where } from './elementwise.js';
import { reshape } from './shape.js';

interface SumAttrs {
  axes: number[];
  keepdim: boolean;
}

export const sumOp: OpDef<SumAttrs> = {
  name: 'sum',
  forward([x], { axes, keepdim }) {
    requireFloat(x!, 'sum');
    const kept = x!.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    const out = emptyLike(x!, kept);
    reduceSum(x!.data, x!.shape, axes, out.data as Float32Array | Float64Array);
    return keepdim ? out : new Tensor(out.data, x!.shape.filter((_, i) => !axes.includes(i)));
  },
  vjp: (g, { inputs: [x], attrs }) => {
    const kept = x!.shape.map((d, i) => (attrs.axes.includes(i) ? 1 : d));
    return [expand(reshape(g, kept), x!.shape)];
  },
};

/** Sum over `axes` (all by default). */
export function sum(x: Tensor, axes?: number | readonly number[], keepdim = false): Tensor {
  return apply(sumOp, [x], { axes: normAxes(axes, x.ndim, 'sum'), keepdim });
}

export const meanOp: OpDef<SumAttrs> = {
  name: 'mean',
  forward([x], attrs) {
    const total = sumOp.forward([x!], attrs) as Tensor;
    // Multiplied by 1/count rounded to the dtype, not divided by count: the same bits as
    // mul(sum(x), 1 / count), so a mean and the sum-then-scale a user writes agree exactly.
    const scale = x!.dtype === 'float32' ? Math.fround(1 / countOf(x!.shape, attrs.axes)) : 1 / countOf(x!.shape, attrs.axes);
    const d = total.data;
    for (let i = 0; i < d.length; i++) d[i] = d[i]! * scale;
    return total;
  },
  vjp: (g, { inputs: [x], attrs }) => {
    const kept = x!.shape.map((d, i) => (attrs.axes.includes(i) ? 1 : d));
    return [expand(reshape(mul(g, 1 / countOf(x!.shape, attrs.axes)), kept), x!.shape)];
  },
};

function countOf(shape: Shape, axes: readonly number[]): number {
  return axes.reduce((n, a) => n * shape[a]!, 1);
}

/** Mean over `axes` (all by default); one op, so that an LRP rule can attach to it (`op:mean`). */
export function mean(x: Tensor, axes?: number | readonly number[], keepdim = false): Tensor {
  return apply(meanOp, [x], { axes: normAxes(axes, x.ndim, 'mean'), keepdim });
}

export const expandOp: OpDef<{ shape: number[] }> = {
  name: 'expand',
  forward([x], { shape }) {
    const out = emptyLike(x!, shape);
    binaryKernel(BinaryCode.Copy, x!.data, x!.shape, x!.data, [], out.data, shape);
    return out;
  },
  vjp: (g, { inputs: [x] }) => [sumTo(g, x!.shape)],
};

/** Broadcasts to `shape` (NumPy rules), copying. */
export function expand(x: Tensor, shape: Shape): Tensor {
  const full = broadcastShapes(x.shape, shape, 'expand');
  if (!sameShape(full, shape)) throw new ShapeError(`expand: cannot expand ${shapeStr(x.shape)} to ${shapeStr(shape)}`);
  if (sameShape(x.shape, shape)) return x;
  return apply(expandOp, [x], { shape: [...shape] });
}

/** Sums the broadcast dims of `g` away so it has `shape` (the adjoint of expand). */
export function sumTo(g: Tensor, shape: Shape): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const lead = g.ndim - shape.length;
  if (lead < 0) throw new ShapeError(`sumTo: ${shapeStr(g.shape)} has fewer dims than ${shapeStr(shape)}`);
  const axes: number[] = [];
  for (let i = 0; i < g.ndim; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  const s = axes.length ? sum(g, axes, true) : g;
  return reshape(s, shape);
}

/** Index of the maximum along `axis` (first one on ties), as a plain number array per position. */
export function argmax(x: Tensor, axis: number, keepdim = false): Tensor {
  const { idx, outShape } = argmaxRaw(x, normAxis(axis, x.ndim, 'argmax'));
  const shape = keepdim ? outShape : outShape.filter((_, i) => i !== normAxis(axis, x.ndim, 'argmax'));
  return new Tensor(idx, shape);
}

function argmaxRaw(x: Tensor, axis: number): { idx: Int32Array; outShape: number[] } {
  const outShape = x.shape.map((d, i) => (i === axis ? 1 : d));
  const n = x.shape[axis]!;
  if (n === 0) throw new ShapeError(`max/argmax over an empty axis of ${shapeStr(x.shape)}`);
  const inner = x.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outer = x.shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const idx = new Int32Array(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let best = -Infinity;
      let bi = 0;
      for (let k = 0; k < n; k++) {
        const v = x.data[(o * n + k) * inner + i]!;
        if (v > best || (Number.isNaN(v) && !Number.isNaN(best))) {
          best = v;
          bi = k;
        }
      }
      idx[o * inner + i] = bi;
    }
  }
  return { idx, outShape };
}

/** One-hot mask (same dtype as `like`) selecting `idx` along `axis` of `shape`. */
function oneHotAlong(idx: Int32Array, shape: Shape, axis: number, like: Tensor): Tensor {
  const out = emptyLike(like, shape);
  const n = shape[axis]!;
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outer = sizeOf(shape) / (n * inner || 1);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) out.data[(o * n + idx[o * inner + i]!) * inner + i] = 1;
  }
  return out;
}

/** Max along `axis`; the gradient goes to the first maximal element (PyTorch's max(dim)). */
export function max(x: Tensor, axis: number, keepdim = false): Tensor {
  const a = normAxis(axis, x.ndim, 'max');
  const { idx, outShape } = argmaxRaw(x, a);
  const mask = oneHotAlong(idx, x.shape, a, x);
  // Select, never multiply by the mask: -Infinity * 0 is NaN (max([-inf, 5]) must be 5).
  return sum(where(mask, x, 0), [a], keepdim);
}

/** Maximum over all elements (gradient to the first maximal element). */
export function maxAll(x: Tensor): Tensor {
  return max(reshape(x, [x.size]), 0);
}
