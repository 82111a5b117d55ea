/**
 * Loops over broadcast index spaces: the generic binary map (a closure per element, for the ops
 * without a hand-written loop in elementwise.ts), `where`, and the sum over axes.
 */
import type { Dims as Shape, Storage as Arr, FloatArray } from '../types.js';

/** Strides of `shape` seen through `outShape` (0 where the dim is broadcast). */
export function broadcastStrides(shape: Shape, outShape: Shape): number[] {
  const n = outShape.length;
  const s = new Array<number>(n).fill(0);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const j = n - shape.length + i;
    s[j] = shape[i] === 1 ? 0 : acc;
    acc *= shape[i]!;
  }
  return s;
}

/**
 * out[i] = f(a[ia], b[ib]) over the broadcast index space. The innermost dim runs in a tight loop
 * with constant strides; the outer dims advance like an odometer.
 */
export function binaryMap(a: Arr, aShape: Shape, b: Arr, bShape: Shape, out: Arr, outShape: Shape, f: (x: number, y: number) => number): void {
  const size = out.length;
  if (size === 0) return;
  if (a.length === size && b.length === size) {
    for (let i = 0; i < size; i++) out[i] = f(a[i]!, b[i]!);
    return;
  }
  if (b.length === 1 && a.length === size) {
    const y = b[0]!;
    for (let i = 0; i < size; i++) out[i] = f(a[i]!, y);
    return;
  }
  if (a.length === 1 && b.length === size) {
    const x = a[0]!;
    for (let i = 0; i < size; i++) out[i] = f(x, b[i]!);
    return;
  }
  const n = outShape.length;
  const sa = broadcastStrides(aShape, outShape);
  const sb = broadcastStrides(bShape, outShape);
  const inner = outShape[n - 1]!;
  const ia0 = sa[n - 1]!;
  const ib0 = sb[n - 1]!;
  const idx = new Array<number>(n).fill(0);
  let pa = 0;
  let pb = 0;
  for (let o = 0; o < size; o += inner) {
    let qa = pa;
    let qb = pb;
    for (let k = 0; k < inner; k++) {
      out[o + k] = f(a[qa]!, b[qb]!);
      qa += ia0;
      qb += ib0;
    }
    for (let d = n - 2; d >= 0; d--) {
      idx[d]!++;
      pa += sa[d]!;
      pb += sb[d]!;
      if (idx[d]! < outShape[d]!) break;
      pa -= sa[d]! * outShape[d]!;
      pb -= sb[d]! * outShape[d]!;
      idx[d] = 0;
    }
  }
}

/** out = c != 0 ? a : b over the broadcast index space. */
export function where(c: Arr, cShape: Shape, a: Arr, aShape: Shape, b: Arr, bShape: Shape, out: Arr, outShape: Shape): void {
  const size = out.length;
  if (size === 0) return;
  const n = outShape.length;
  const sc = broadcastStrides(cShape, outShape);
  const sa = broadcastStrides(aShape, outShape);
  const sb = broadcastStrides(bShape, outShape);
  const idx = new Array<number>(n).fill(0);
  for (let o = 0; o < size; o++) {
    let pc = 0;
    let pa = 0;
    let pb = 0;
    for (let d = 0; d < n; d++) {
      pc += idx[d]! * sc[d]!;
      pa += idx[d]! * sa[d]!;
      pb += idx[d]! * sb[d]!;
    }
    out[o] = c[pc]! !== 0 ? a[pa]! : b[pb]!;
    for (let d = n - 1; d >= 0; d--) {
      if (++idx[d]! < outShape[d]!) break;
      idx[d] = 0;
    }
  }
}

/**
 * Sums `src` (of `srcShape`) over the given axes into `out` (the shape with those axes kept as 1).
 * Adjacent dims of the same kind (both summed or both kept) are merged first, so that a sum over a
 * short trailing axis (a stack of two) is one tight loop rather than an odometer step per pair.
 */
export function reduceSum(src: Arr, srcShape: Shape, axes: readonly number[], out: FloatArray): void {
  out.fill(0);
  const dims: number[] = [];
  const summed: boolean[] = [];
  for (let i = 0; i < srcShape.length; i++) {
    const d = srcShape[i]!;
    if (d === 1) continue;
    const r = axes.includes(i);
    const last = dims.length - 1;
    if (last >= 0 && summed[last] === r) dims[last] = dims[last]! * d;
    else {
      dims.push(d);
      summed.push(r);
    }
  }
  if (src.length === 0) return;
  const n = dims.length;
  if (n === 0) {
    out[0] = src[0]!;
    return;
  }
  // Strides into `out`: 0 along summed dims.
  const so = new Array<number>(n).fill(0);
  let acc = 1;
  for (let i = n - 1; i >= 0; i--) {
    if (summed[i]) continue;
    so[i] = acc;
    acc *= dims[i]!;
  }
  const inner = dims[n - 1]!;
  if (n <= 2) {
    const rows = n === 2 ? dims[0]! : 1;
    const rowStride = n === 2 ? so[0]! : 0;
    if (summed[n - 1]) {
      for (let r = 0; r < rows; r++) {
        let sum = 0;
        const base = r * inner;
        for (let k = 0; k < inner; k++) sum += src[base + k]!;
        out[r * rowStride] = out[r * rowStride]! + sum;
      }
    } else {
      for (let r = 0; r < rows; r++) {
        const base = r * inner;
        for (let k = 0; k < inner; k++) out[k] = out[k]! + src[base + k]!;
      }
    }
    return;
  }
  const innerStride = so[n - 1]!;
  const idx = new Array<number>(n).fill(0);
  let po = 0;
  const size = src.length;
  for (let s = 0; s < size; s += inner) {
    if (innerStride === 0) {
      let sum = 0;
      for (let k = 0; k < inner; k++) sum += src[s + k]!;
      out[po] = out[po]! + sum;
    } else {
      for (let k = 0; k < inner; k++) out[po + k] = out[po + k]! + src[s + k]!;
    }
    for (let d = n - 2; d >= 0; d--) {
      idx[d]!++;
      po += so[d]!;
      if (idx[d]! < dims[d]!) break;
      po -= so[d]! * dims[d]!;
      idx[d] = 0;
    }
  }
}
