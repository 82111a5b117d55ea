/**
 * The ops a transformer needs beyond the CNN set: erf and exact GELU, softmax as ONE op (so that an
 * LRP rule can attach to it as a functional layer `op:softmax`), layer norm, and scaled dot-product
 * attention built from recorded ops. Every VJP is written with recorded ops, so each is
 * differentiable again (erf's derivative is an exp, GELU's uses erf and exp).
 */
import { Tensor, ShapeError, shapeStr } from '../tensor.js';
import { apply, type OpDef } from '../autograd.js';
import { add, div, exp, mul, sqrt, sub, where } from './elementwise.js';
import { mean } from './reduce.js';
import { sum } from './sum.js';
import { matmul } from './linalg.js';
import { kernels as K } from '../kernels/dispatch.js';
import { emptyLike, normAxis, requireFloat } from './util.js';

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);
const INV_SQRT_PI = 1 / Math.sqrt(Math.PI);
const INV_SQRT2 = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/**
 * erf(x) to a few ulp in float64. Below |x| = 3 the series 2/sqrt(pi) e^{-x^2} sum (2x^2)^n x / (2n+1)!!
 * (all terms positive, so no cancellation); above, erfc's continued fraction (Lentz), which converges
 * fast there. JavaScript has no Math.erf.
 */
export function erfScalar(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const a = Math.abs(x);
  if (a >= 6) return Math.sign(x);
  if (a < 3) {
    const x2 = a * a;
    let term = a;
    let total = a;
    for (let n = 1; n < 200; n++) {
      term *= (2 * x2) / (2 * n + 1);
      total += term;
      if (term < total * 1e-17) break;
    }
    return Math.sign(x) * TWO_OVER_SQRT_PI * Math.exp(-x2) * total;
  }
  // erfc(a) = e^{-a^2}/sqrt(pi) * 1/(a + (1/2)/(a + 1/(a + (3/2)/(a + ...)))), modified Lentz.
  const tiny = 1e-300;
  let f = a;
  let c = a;
  let d = 0;
  for (let n = 1; n < 300; n++) {
    const an = n / 2;
    d = a + an * d;
    d = d === 0 ? tiny : d;
    c = a + an / c;
    c = c === 0 ? tiny : c;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  const erfc = (Math.exp(-a * a) * INV_SQRT_PI) / f;
  return Math.sign(x) * (1 - erfc);
}

function unaryMap(name: string, f: (v: number) => number, vjp: OpDef['vjp']): OpDef {
  return {
    name,
    forward([x]) {
      requireFloat(x!, name);
      const out = emptyLike(x!);
      K.map(x!.data, out.data, f, undefined);
      return out;
    },
    vjp,
  };
}

export const erfOp: OpDef = unaryMap('erf', erfScalar, (g, { inputs: [x] }) => [mul(g, mul(exp(mul(mul(x!, x!), -1)), TWO_OVER_SQRT_PI))]);

/** The error function, elementwise. */
export function erf(x: Tensor): Tensor {
  return apply(erfOp, [x], {});
}

/** Phi(x), the standard normal CDF, as recorded ops. */
function normalCdf(x: Tensor): Tensor {
  return mul(add(erf(mul(x, INV_SQRT2)), 1), 0.5);
}

export const geluOp: OpDef = unaryMap(
  'gelu',
  (v) => 0.5 * v * (1 + erfScalar(v * INV_SQRT2)),
  // d/dx x Phi(x) = Phi(x) + x phi(x)
  (g, { inputs: [x] }) => [mul(g, add(normalCdf(x!), mul(x!, mul(exp(mul(mul(x!, x!), -0.5)), INV_SQRT_2PI))))],
);

/** GELU in its exact (erf) form, x * Phi(x), as PyTorch's default `nn.GELU()`. */
export function gelu(x: Tensor): Tensor {
  return apply(geluOp, [x], {});
}

export const softmaxOp: OpDef<{ axis: number }> = {
  name: 'softmax',
  forward([x], { axis }) {
    requireFloat(x!, 'softmax');
    const out = emptyLike(x!);
    const n = x!.shape[axis]!;
    const inner = x!.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
    const outer = x!.shape.slice(0, axis).reduce((a, b) => a * b, 1);
    K.softmax(x!.data, out.data, outer, n, inner);
    return out;
  },
  // s * (g - sum(g * s)): written with the recorded output, so it can be differentiated again.
  vjp: (g, { output, attrs: { axis } }) => [mul(output, sub(g, sum(mul(g, output), [axis], true)))],
};

/** Softmax along `axis`. Entries of -inf (masked) get weight 0; one op, so rules can attach to it. */
export function softmax(x: Tensor, axis = -1): Tensor {
  return apply(softmaxOp, [x], { axis: normAxis(axis, x.ndim, 'softmax') });
}

/**
 * Layer norm over the last dim with the biased variance: (x - mean) / sqrt(var + eps) * weight + bias
 * (PyTorch's F.layer_norm over one dim). Composed of recorded ops: differentiable to any order.
 */
export function layerNorm(x: Tensor, weight: Tensor | null, bias: Tensor | null, eps = 1e-5): Tensor {
  const D = x.shape[x.ndim - 1]!;
  if (weight && (weight.ndim !== 1 || weight.shape[0] !== D)) throw new ShapeError(`layerNorm: weight ${shapeStr(weight.shape)} does not match the last dim of ${shapeStr(x.shape)}`);
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== D)) throw new ShapeError(`layerNorm: bias ${shapeStr(bias.shape)} does not match the last dim of ${shapeStr(x.shape)}`);
  const centred = sub(x, mean(x, [-1], true));
  let y = div(centred, layerNormScale(x, eps));
  if (weight) y = mul(y, weight);
  if (bias) y = add(y, bias);
  return y;
}

/** sqrt(var(x) + eps) over the last dim, kept as a size-1 dim: the layer norm's divisor. */
export function layerNormScale(x: Tensor, eps: number): Tensor {
  const centred = sub(x, mean(x, [-1], true));
  return sqrt(add(mean(mul(centred, centred), [-1], true), eps));
}

/** A [T, T] float mask (1 where key j may be seen from query i, i.e. j <= i), in `like`'s dtype. */
export function causalMask(T: number, like: Tensor): Tensor {
  const m = emptyLike(like, [T, T]);
  K.lowerTriangle(m.data, T);
  return m;
}

/**
 * softmax((q @ k^T) * scale, masked) @ v over [..., T, d] operands; q @ k^T is one matmul of two
 * activations, the scale a multiplication by a constant, the mask a `where` with -inf.
 */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, opts: { causal?: boolean; scale?: number } = {}): Tensor {
  const d = q.shape[q.ndim - 1]!;
  let logits = mul(matmul(q, k, { transB: true }), opts.scale ?? 1 / Math.sqrt(d));
  if (opts.causal) {
    const T = q.shape[q.ndim - 2]!;
    if (k.shape[k.ndim - 2] !== T) throw new ShapeError(`scaledDotProductAttention: a causal mask needs as many keys as queries, got q ${shapeStr(q.shape)} and k ${shapeStr(k.shape)}`);
    logits = where(causalMask(T, q), logits, -Infinity);
  }
  return matmul(softmax(logits, -1), v);
}
