/**
 * Random float arrays with the awkward values mixed in, and bitwise comparison: for kernels that
 * must give the TypeScript loops' results bit for bit.
 */
import { expect } from 'chai';
import { mulberry32 } from './kernel-oracle.js';

type FloatArray = Float32Array | Float64Array;
type Ctor = Float32ArrayConstructor | Float64ArrayConstructor;

const specials = [NaN, Infinity, -Infinity, 0, -0, 1e-45, -1e-45, 1e-310, 3.4e38, -3.4e38, 1, -1];

/** Random signs and magnitudes (subnormal and overflowing products included), one element in eight special. */
export function randomData(T: Ctor, n: number, seed: number): FloatArray {
  const rnd = mulberry32(seed);
  const a = new T(n);
  for (let i = 0; i < n; i++) {
    a[i] = rnd() < 0.125 ? specials[Math.floor(rnd() * specials.length)]! : (rnd() * 2 - 1) * Math.pow(10, Math.floor(rnd() * 80) - 40);
  }
  return a;
}

/** Bitwise equality; a NaN only has to be a NaN (WebAssembly leaves NaN payloads open). */
export function expectSameBits(got: FloatArray, want: FloatArray, what: string): void {
  expect(got.length, what).to.equal(want.length);
  for (let i = 0; i < got.length; i++) {
    if (Number.isNaN(want[i]!) && Number.isNaN(got[i]!)) continue;
    if (!Object.is(got[i], want[i])) expect.fail(`${what}: element ${i} differs: got ${Object.is(got[i], -0) ? '-0' : got[i]}, want ${Object.is(want[i], -0) ? '-0' : want[i]}`);
  }
}

