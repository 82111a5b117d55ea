import { Tensor, ShapeError, allocStorage, sizeOf, type DType, type Storage } from './tensor.js';

/**
 * The part of an `ndarray` (scijs) object the conversion needs. Duck-typed, so the library does not
 * depend on ndarray's CommonJS runtime: pass `ndarray(...)` objects in, and build them from the
 * returned `{data, shape, stride, offset}` with `ndarray(data, shape, stride, offset)`.
 */
export interface NdarrayLike {
  data: ArrayLike<number>;
  shape: readonly number[];
  stride: readonly number[];
  offset: number;
}

/** Copies a (possibly strided) ndarray into a contiguous tensor of the given dtype. */
export function fromNdarray(a: NdarrayLike, dtype: DType = a.data instanceof Float64Array ? 'float64' : 'float32'): Tensor {
  if (a.shape.length !== a.stride.length) throw new ShapeError(`fromNdarray: shape [${a.shape.join(', ')}] and stride [${a.stride.join(', ')}] differ in length`);
  const n = sizeOf(a.shape);
  const out = allocStorage(dtype, n);
  const idx = new Array<number>(a.shape.length).fill(0);
  for (let i = 0; i < n; i++) {
    let p = a.offset;
    for (let d = 0; d < idx.length; d++) p += idx[d]! * a.stride[d]!;
    if (p < 0 || p >= a.data.length) throw new ShapeError(`fromNdarray: element ${i} reads index ${p}, outside data of length ${a.data.length}`);
    out[i] = a.data[p]!;
    for (let d = idx.length - 1; d >= 0; d--) {
      if (++idx[d]! < a.shape[d]!) break;
      idx[d] = 0;
    }
  }
  return new Tensor(out, a.shape);
}

/** The tensor as ndarray constructor arguments (a copy of the data, row-major strides). */
export function toNdarray(t: Tensor): { data: Storage; shape: number[]; stride: number[]; offset: number } {
  const stride: number[] = [];
  let acc = 1;
  for (let i = t.ndim - 1; i >= 0; i--) {
    stride[i] = acc;
    acc *= t.shape[i]!;
  }
  return { data: t.data.slice() as Storage, shape: [...t.shape], stride, offset: 0 };
}
