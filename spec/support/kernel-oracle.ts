/**
 * Helpers shared by the kernel specs. Seeded here rather than via engine/random.ts so the oracle
 * tests depend on nothing but the kernels.
 */
import { expect } from 'chai';
import type { ConvGeometry, FloatArray } from '../../engine/kernels/types.js';
import { conv2dForwardReference, conv2dBackwardInputReference, conv2dBackwardWeightReference } from './kernel-reference.js';

export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Ctor = Float32ArrayConstructor | Float64ArrayConstructor;

/** Each float dtype with the tolerance its fast kernels are held to against the reference. */
export const dtypes: [string, Ctor, number][] = [
  ['float32', Float32Array, 1e-5],
  ['float64', Float64Array, 1e-12],
];

export function randomArray(T: Ctor, n: number, rnd: () => number): FloatArray {
  const a = new T(n);
  for (let i = 0; i < n; i++) a[i] = rnd() * 2 - 1;
  return a;
}

/** max |got - want| relative to max |want|, over the whole arrays (so untouched regions count too). */
export function relErr(got: FloatArray, want: FloatArray): number {
  expect(got.length).to.equal(want.length);
  let scale = 0;
  let err = 0;
  for (let i = 0; i < want.length; i++) {
    scale = Math.max(scale, Math.abs(want[i]!));
    err = Math.max(err, Math.abs(got[i]! - want[i]!));
  }
  return err / (scale || 1);
}

/** A convolution geometry with PyTorch's output size. */
export function convGeometry(
  N: number, C: number, H: number, W: number, O: number, KH: number, KW: number,
  s: [number, number], p: [number, number], d: [number, number], groups: number,
): ConvGeometry {
  const OH = Math.floor((H + 2 * p[0] - d[0] * (KH - 1) - 1) / s[0]) + 1;
  const OW = Math.floor((W + 2 * p[1] - d[1] * (KW - 1) - 1) / s[1]) + 1;
  return { N, C, H, W, O, KH, KW, OH, OW, strideH: s[0], strideW: s[1], padH: p[0], padW: p[1], dilH: d[0], dilW: d[1], groups };
}

/** Geometries that take every path of the convolution kernels (pointwise, im2col, banded, grouped, padding-only rows). */
export const edgeCaseConvGeometries: readonly ConvGeometry[] = [
  convGeometry(2, 6, 9, 7, 4, 1, 1, [1, 1], [0, 0], [1, 1], 1), // pointwise: direct GEMM
  convGeometry(3, 6, 5, 8, 9, 1, 1, [1, 1], [0, 0], [2, 2], 3), // pointwise, grouped
  convGeometry(2, 5, 9, 9, 3, 1, 1, [2, 2], [0, 0], [1, 1], 1), // 1x1 but strided: im2col
  convGeometry(1, 3, 4, 4, 2, 1, 1, [1, 1], [1, 1], [1, 1], 1), // 1x1 but padded: im2col
  convGeometry(2, 4, 11, 13, 5, 3, 5, [1, 1], [1, 2], [1, 1], 1), // odd 3x5 kernel
  convGeometry(2, 6, 12, 10, 6, 3, 3, [2, 1], [1, 0], [2, 1], 2),
  convGeometry(1, 8, 10, 10, 8, 3, 3, [1, 1], [1, 1], [1, 1], 8), // depthwise
  convGeometry(1, 3, 6, 6, 2, 6, 6, [1, 1], [0, 0], [1, 1], 1), // kernel covers the whole image
  convGeometry(1, 2, 5, 5, 2, 3, 3, [3, 3], [2, 2], [1, 1], 1), // some output rows see only padding
  convGeometry(1, 2, 4, 4, 3, 3, 3, [1, 1], [4, 4], [1, 1], 1), // padding wider than the kernel
  convGeometry(1, 16, 9, 9, 32, 3, 3, [1, 1], [1, 1], [1, 1], 1), // big enough for the packed GEMM
  convGeometry(1, 40, 130, 130, 3, 3, 5, [1, 1], [1, 2], [1, 1], 1), // Kc*OH*OW over the column cap: 5 bands
  convGeometry(1, 40, 140, 70, 2, 3, 5, [2, 1], [1, 2], [2, 1], 1), // banded with stride and dilation
];

/** Upper bounds of a random geometry: channels per group, image side, out channels per group, padding, dilation. */
export interface GeometryRanges {
  channels: number;
  side: number;
  outChannels: number;
  padding: number;
  dilation: number;
}

/** A random geometry (1-3 images, 1-3 groups, kernels up to 5x5, strides up to 3) with at least one output pixel. */
export function randomConvGeometry(rnd: () => number, r: GeometryRanges): ConvGeometry {
  const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  for (;;) {
    const groups = int(1, 3);
    const KH = int(1, 5), KW = int(1, 5);
    const g = convGeometry(
      int(1, 3), groups * int(1, r.channels), int(1, r.side), int(1, r.side), groups * int(1, r.outChannels), KH, KW,
      [int(1, 3), int(1, 3)], [int(0, r.padding), int(0, r.padding)], [int(1, r.dilation), int(1, r.dilation)], groups,
    );
    if (g.OH >= 1 && g.OW >= 1) return g;
  }
}

/** A convolution kernel under test; one that can decline (the WebAssembly ones) returns false. */
export type ConvKernelUnderTest = (a: FloatArray, b: FloatArray, out: FloatArray, g: ConvGeometry) => void | boolean;

/**
 * Checks a set of convolution kernels against the reference on every geometry, random operands from
 * `rnd`, within `tol` (relErr). Outputs start as garbage: a kernel must overwrite, never accumulate
 * into, its output; a kernel that declines fails.
 */
export function expectConvKernelsMatchReference(
  name: string, T: Ctor, tol: number, geoms: readonly ConvGeometry[], rnd: () => number,
  k: { forward: ConvKernelUnderTest; backwardInput: ConvKernelUnderTest; backwardWeight: ConvKernelUnderTest },
): void {
  for (const g of geoms) {
    const xs = g.N * g.C * g.H * g.W;
    const ws = g.O * (g.C / g.groups) * g.KH * g.KW;
    const ys = g.N * g.O * g.OH * g.OW;
    const x = randomArray(T, xs, rnd);
    const w = randomArray(T, ws, rnd);
    const gy = randomArray(T, ys, rnd);
    const tag = `${name} ${JSON.stringify(g)}`;
    const check = (size: number, fast: (out: FloatArray) => void | boolean, ref: (out: FloatArray) => void, what: string) => {
      const want = new T(size);
      ref(want);
      const got = randomArray(T, size, rnd);
      if (fast(got) === false) expect.fail(`${what} ${tag}: the kernel declined`);
      const e = relErr(got, want);
      if (!(e <= tol)) expect.fail(`${what} ${tag}: rel err ${e}`);
    };
    check(ys, (y) => k.forward(x, w, y, g), (y) => conv2dForwardReference(x, w, y, g), 'forward');
    check(xs, (gx) => k.backwardInput(gy, w, gx, g), (gx) => conv2dBackwardInputReference(gy, w, gx, g), 'backward-input');
    check(ws, (gw) => k.backwardWeight(x, gy, gw, g), (gw) => conv2dBackwardWeightReference(x, gy, gw, g), 'backward-weight');
  }
}
