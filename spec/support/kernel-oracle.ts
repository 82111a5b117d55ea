/**
 * Helpers shared by the kernel specs. Seeded here rather than via engine/random.ts so the oracle
 * tests depend on nothing but the kernels.
 */
import { expect } from 'chai';
import type { FloatArray } from '../../engine/kernels/gemm.js';

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
