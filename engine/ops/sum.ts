/**
 * Sum and its adjoint, broadcasting (expand / sumTo): the pair every broadcasting op's VJP needs,
 * apart from reduce.ts so that elementwise.ts can use them without a cycle.
 */
import { Tensor, ShapeError, shapeStr, type Shape } from '../tensor.js';
import { apply, type OpDef } from '../autograd.js';
import { kernels as K } from '../kernels/dispatch.js';
import { BinaryCode } from '../kernels/types.js';
import { broadcastShapes, emptyLike, normAxes, requireFloat, sameShape } from './util.js';
import { reshape } from './shape.js';

export interface SumAttrs {
  axes: number[];
  keepdim: boolean;
}

export const sumOp: OpDef<SumAttrs> = {
  name: 'sum',
  forward([x], { axes, keepdim }) {
    requireFloat(x!, 'sum');
    const kept = x!.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    const out = emptyLike(x!, kept);
    K.reduceSum(x!.data, x!.shape, axes, out.data as Float32Array | Float64Array);
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

export const expandOp: OpDef<{ shape: number[] }> = {
  name: 'expand',
  forward([x], { shape }) {
    const out = emptyLike(x!, shape);
    K.binary(BinaryCode.Copy, x!.data, x!.shape, x!.data, [], out.data, shape);
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

