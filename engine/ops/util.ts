import { Tensor, allocStorage, sizeOf, ShapeError, shapeStr, type DType, type Shape } from '../tensor.js';
import { markConstant } from '../param-cache.js';
import { isAllZero } from '../zero-marks.js';

/** Every element is +0 or -0 (free for outputs that ops marked as zeros). */
export { isAllZero };

/** A JS number is a weak scalar: it takes the dtype of the tensor it meets. */
export type TensorLike = Tensor | number;

export function scalarOf(value: number, dtype: DType): Tensor {
  const data = allocStorage(dtype, 1);
  data[0] = value;
  const t = new Tensor(data, []);
  markConstant(t);
  return t;
}

export function asTensor(x: TensorLike, like: Tensor): Tensor {
  return x instanceof Tensor ? x : scalarOf(x, like.dtype);
}

export function emptyLike(t: Tensor, shape: Shape = t.shape): Tensor {
  return new Tensor(allocStorage(t.dtype, sizeOf(shape)), shape);
}

export function normAxis(axis: number, ndim: number, opName: string): number {
  const a = axis < 0 ? axis + ndim : axis;
  if (!Number.isInteger(a) || a < 0 || a >= Math.max(ndim, 1)) {
    throw new ShapeError(`${opName}: axis ${axis} out of range for a tensor of ${ndim} dims`);
  }
  return a;
}

export function normAxes(axes: number | readonly number[] | undefined, ndim: number, opName: string): number[] {
  if (axes === undefined) return [...Array(ndim).keys()];
  const list = typeof axes === 'number' ? [axes] : axes;
  const out = list.map((a) => normAxis(a, ndim, opName));
  if (new Set(out).size !== out.length) throw new ShapeError(`${opName}: repeated axis in [${list.join(', ')}]`);
  return out.sort((a, b) => a - b);
}

export function requireFloat(t: Tensor, opName: string): void {
  if (t.dtype === 'int32') throw new ShapeError(`${opName}: needs a float tensor, got int32 of shape ${shapeStr(t.shape)}`);
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** NumPy broadcasting of two shapes. */
export function broadcastShapes(a: Shape, b: Shape, opName = 'broadcast'): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(`${opName}: shapes ${shapeStr(a)} and ${shapeStr(b)} cannot be broadcast (dim ${i}: ${da} vs ${db})`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}
