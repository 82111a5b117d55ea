import { Tensor, ShapeError, shapeStr, sizeOf, type Shape } from '../tensor.js';
import { apply, type OpDef } from '../autograd.js';
import { kernels as K } from '../kernels/dispatch.js';
import { emptyLike, normAxes, normAxis } from './util.js';
import { mul, where } from './elementwise.js';
import { reshape } from './shape.js';
import { sumOp, expand, sum, type SumAttrs } from './sum.js';

export const meanOp: OpDef<SumAttrs> = {
  name: 'mean',
  forward([x], attrs) {
    const total = sumOp.forward([x!], attrs) as Tensor;
    // Multiplied by 1/count rounded to the dtype, not divided by count: the same bits as
    // mul(sum(x), 1 / count), so a mean and the sum-then-scale a user writes agree exactly.
    const scale = x!.dtype === 'float32' ? Math.fround(1 / countOf(x!.shape, attrs.axes)) : 1 / countOf(x!.shape, attrs.axes);
    K.scale(total.data, scale);
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
  K.argmax(x.data, outer, n, inner, idx);
  return { idx, outShape };
}

/** One-hot mask (same dtype as `like`) selecting `idx` along `axis` of `shape`. */
function oneHotAlong(idx: Int32Array, shape: Shape, axis: number, like: Tensor): Tensor {
  const out = emptyLike(like, shape);
  const n = shape[axis]!;
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outer = sizeOf(shape) / (n * inner || 1);
  K.oneHotAlong(idx, outer, n, inner, out.data);
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
