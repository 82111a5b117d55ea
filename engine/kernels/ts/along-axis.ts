/**
 * Loops along one axis of [outer, n, inner] views (argmax, one-hot masks, softmax) and per channel
 * of [N, C, inner] (batch norm's affine map, a convolution's bias).
 */
import type { Storage } from '../types.js';

export function argmax(src: Storage, outer: number, n: number, inner: number, idx: Int32Array): void {
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let best = -Infinity;
      let bi = 0;
      for (let k = 0; k < n; k++) {
        const v = src[(o * n + k) * inner + i]!;
        if (v > best || (Number.isNaN(v) && !Number.isNaN(best))) {
          best = v;
          bi = k;
        }
      }
      idx[o * inner + i] = bi;
    }
  }
}

export function oneHotAlong(idx: Int32Array, outer: number, n: number, inner: number, dst: Storage): void {
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) dst[(o * n + idx[o * inner + i]!) * inner + i] = 1;
  }
}

export function oneHotRows(targets: ArrayLike<number>, classes: number, dst: Storage): number {
  for (let i = 0; i < targets.length; i++) {
    const t = targets[i]!;
    if (!Number.isInteger(t) || t < 0 || t >= classes) return i;
    dst[i * classes + t] = 1;
  }
  return -1;
}

export function softmax(src: Storage, dst: Storage, outer: number, n: number, inner: number): void {
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * n * inner + i;
      let m = -Infinity;
      for (let k = 0; k < n; k++) m = Math.max(m, src[base + k * inner]!);
      // A row of -inf only (everything masked) gives NaN, as PyTorch does.
      let s = 0;
      for (let k = 0; k < n; k++) {
        const e = Math.exp(src[base + k * inner]! - m);
        dst[base + k * inner] = e;
        s += e;
      }
      for (let k = 0; k < n; k++) dst[base + k * inner] = dst[base + k * inner]! / s;
    }
  }
}

export function channelAffine(src: Storage, dst: Storage, scale: Storage, shift: Storage, N: number, C: number, inner: number): void {
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const a = scale[c]!;
      const b = shift[c]!;
      const base = (n * C + c) * inner;
      for (let i = base; i < base + inner; i++) dst[i] = src[i]! * a + b;
    }
  }
}

export function addChannelBias(y: Storage, b: Storage, N: number, O: number, P: number): void {
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      const v = b[o]!;
      const base = (n * O + o) * P;
      for (let p = 0; p < P; p++) y[base + p] = y[base + p]! + v;
    }
  }
}

export function lowerTriangle(dst: Storage, T: number): void {
  for (let i = 0; i < T; i++) for (let j = 0; j <= i; j++) dst[i * T + j] = 1;
}
