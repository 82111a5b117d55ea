/**
 * Copies that rearrange elements: permutations, strided windows (slice, pad), concatenation rows,
 * and gathers / scatter-adds through an index array (max pooling and its adjoint).
 */
import type { Dims, Storage, Window } from '../types.js';
import { sizeOf, stridesOf } from '../shape.js';

/** An odometer over the output's index space; the source offset advances by the permuted strides. */
export function permute(src: Storage, srcShape: Dims, dims: readonly number[], dst: Storage): void {
  const outShape = dims.map((d) => srcShape[d]!);
  const inStrides = stridesOf(srcShape);
  const st = dims.map((d) => inStrides[d]!);
  const n = outShape.length;
  const idx = new Array<number>(n).fill(0);
  let p = 0;
  for (let o = 0; o < dst.length; o++) {
    dst[o] = src[p]!;
    for (let d = n - 1; d >= 0; d--) {
      idx[d]!++;
      p += st[d]!;
      if (idx[d]! < outShape[d]!) break;
      p -= st[d]! * outShape[d]!;
      idx[d] = 0;
    }
  }
}

/**
 * Copies between a compact tensor of the window's shape and the window of a `full` tensor:
 * dst[i] = src[window i] (gather, slice) or dst[window i] = src[i] (scatter, embed). Size-1 dims
 * are dropped and adjacent dims merged where the window walks them as one, so that a slice of one
 * entry of a trailing axis of 2 (unstacking) is a single strided loop.
 */
export function copyWindow(w: Window, src: Storage, dst: Storage, gather: boolean): void {
  const total = sizeOf(w.sizes);
  if (total === 0) return;
  const fs = stridesOf(w.full);
  let base = 0;
  for (let d = 0; d < w.full.length; d++) base += w.starts[d]! * fs[d]!;
  const sizes: number[] = [];
  const steps: number[] = [];
  for (let d = 0; d < w.full.length; d++) {
    const size = w.sizes[d]!;
    if (size === 1) continue;
    const step = w.steps[d]! * fs[d]!;
    const last = sizes.length - 1;
    if (last >= 0 && steps[last] === size * step) {
      sizes[last] = sizes[last]! * size;
      steps[last] = step;
    } else {
      sizes.push(size);
      steps.push(step);
    }
  }
  const n = sizes.length;
  if (n === 0) {
    if (gather) dst[0] = src[base]!;
    else dst[base] = src[0]!;
    return;
  }
  const inner = sizes[n - 1]!;
  const is = steps[n - 1]!;
  const idx = new Array<number>(n).fill(0);
  let p = base;
  for (let o = 0; o < total; o += inner) {
    if (gather) {
      if (is === 1) dst.set(src.subarray(p, p + inner), o);
      else for (let k = 0; k < inner; k++) dst[o + k] = src[p + k * is]!;
    } else if (is === 1) dst.set(src.subarray(o, o + inner), p);
    else for (let k = 0; k < inner; k++) dst[p + k * is] = src[o + k]!;
    for (let d = n - 2; d >= 0; d--) {
      idx[d]!++;
      p += steps[d]!;
      if (idx[d]! < sizes[d]!) break;
      p -= steps[d]! * sizes[d]!;
      idx[d] = 0;
    }
  }
}

export function concatRows(src: Storage, dst: Storage, outer: number, row: number, rowOut: number, off: number): void {
  // Short rows (stack along the last axis) copy element-wise: a subarray per element costs more than the copy.
  if (row < 16) {
    for (let o = 0; o < outer; o++) for (let k = 0; k < row; k++) dst[o * rowOut + off + k] = src[o * row + k]!;
  } else {
    for (let o = 0; o < outer; o++) dst.set(src.subarray(o * row, (o + 1) * row), o * rowOut + off);
  }
}

export function scatterAdd(src: Storage, dst: Storage, idx: Int32Array): void {
  for (let i = 0; i < idx.length; i++) dst[idx[i]!] = dst[idx[i]!]! + src[i]!;
}

export function gather(src: Storage, dst: Storage, idx: Int32Array): void {
  for (let i = 0; i < idx.length; i++) dst[i] = src[idx[i]!]!;
}
