/**
 * Elementwise loops over one array (and stabilizedDiv's two of the same length), and the scans
 * that let ops skip work (a clamp that changes nothing, an add of zeros, a convolution of zeros).
 * The hot ones are written out rather than passed to `map`: a loop with its arithmetic inline is
 * several times faster than a call per element.
 */
import type { Comparison, Storage } from '../types.js';

export function map<A>(src: Storage, dst: Storage, f: (x: number, a: A) => number, a: A): void {
  for (let i = 0; i < src.length; i++) dst[i] = f(src[i]!, a);
}

export function neg(s: Storage, d: Storage): void {
  for (let i = 0; i < s.length; i++) d[i] = -s[i]!;
}

export function exp(s: Storage, d: Storage): void {
  for (let i = 0; i < s.length; i++) d[i] = Math.exp(s[i]!);
}

export function sign(s: Storage, d: Storage): void {
  for (let i = 0; i < s.length; i++) d[i] = Math.sign(s[i]!);
}

export function relu(s: Storage, d: Storage): void {
  for (let i = 0; i < s.length; i++) {
    const v = s[i]!;
    // NaN compares false and passes through (PyTorch's relu keeps NaN); -0 becomes +0.
    d[i] = v <= 0 ? 0 : v;
  }
}

export function clamp(s: Storage, d: Storage, lo: number, hi: number): void {
  for (let i = 0; i < s.length; i++) {
    const v = s[i]!;
    d[i] = v < lo ? lo : v > hi ? hi : v;
  }
}

export function stabilize(s: Storage, d: Storage, eps: number): void {
  for (let i = 0; i < s.length; i++) {
    const v = s[i]!;
    // eps * (+1 or -1) instead of a branch: the signs of activations are random, and a mispredicted
    // branch per element costs 3-4x the loop (v - eps is v + -eps exactly).
    d[i] = v + eps * (+(v >= 0) * 2 - 1);
  }
}

export function stabilizedDiv(a: Storage, b: Storage, d: Storage, eps: number): void {
  for (let i = 0; i < a.length; i++) {
    const v = b[i]!;
    d[i] = a[i]! / (v + eps * (+(v >= 0) * 2 - 1));
  }
}

/** One loop per comparison, so each is monomorphic; an infinite bound compares true for every non-NaN x. */
export function passWithin(g: Storage, x: Storage, d: Storage, lo: number, hi: number, openLo: boolean): void {
  const n = g.length;
  if (openLo) {
    for (let i = 0; i < n; i++) {
      const v = x[i]!;
      d[i] = g[i]! * (+(v > lo) & +(v <= hi));
    }
  } else {
    for (let i = 0; i < n; i++) {
      const v = x[i]!;
      d[i] = g[i]! * (+(v >= lo) & +(v <= hi));
    }
  }
}

/** The switch is outside the loops, so each loop is one monomorphic comparison, stored without a branch. */
export function compareScalar(cmp: Comparison, s: Storage, y: number, d: Storage): void {
  const n = s.length;
  switch (cmp) {
    case 'gt': for (let i = 0; i < n; i++) d[i] = +(s[i]! > y); return;
    case 'ge': for (let i = 0; i < n; i++) d[i] = +(s[i]! >= y); return;
    case 'lt': for (let i = 0; i < n; i++) d[i] = +(s[i]! < y); return;
    case 'le': for (let i = 0; i < n; i++) d[i] = +(s[i]! <= y); return;
    case 'eq': for (let i = 0; i < n; i++) d[i] = +(s[i]! === y); return;
    case 'ne': for (let i = 0; i < n; i++) d[i] = +(s[i]! !== y); return;
  }
}

export function scale(d: Storage, s: number): void {
  for (let i = 0; i < d.length; i++) d[i] = d[i]! * s;
}

export function fill(d: Storage, f: (i: number) => number): void {
  for (let i = 0; i < d.length; i++) d[i] = f(i);
}

export function allWithin(s: Storage, lo: number, hi: number): boolean {
  for (let i = 0; i < s.length; i++) {
    const v = s[i]!;
    if (v < lo || v > hi) return false;
  }
  return true;
}

/**
 * The float32 tests below read the bits: a test per element on the value itself branches on
 * `v === 0` (then on -0), which mispredicts on half-zero ReLU outputs (10 ns per element). Over
 * the bits, each test is comparisons folded into a flag, checked once per block.
 */
const BLOCK = 4096;
/** The bits of +Infinity, and of -Infinity read as an int32. */
const POS_INF_BITS = 0x7f800000;
const NEG_INF_BITS = -0x800000;
const NEG_ZERO_BITS = -0x80000000;

function bitsOf(d: Float32Array): Int32Array {
  return new Int32Array(d.buffer, d.byteOffset, d.length);
}

/**
 * Every element's bits, read as an int32, are +0 or within [lo, hi]: float32 values of one sign
 * (positive ones from +0 up to +Infinity, negative ones from the smallest subnormal down to
 * -Infinity), so that -0 and NaN of either sign fail.
 */
function allBitsWithin(d: Float32Array, lo: number, hi: number): boolean {
  const w = bitsOf(d);
  for (let b = 0; b < w.length; b += BLOCK) {
    const end = Math.min(w.length, b + BLOCK);
    let bad = 0;
    for (let i = b; i < end; i++) {
      const x = w[i]!;
      bad |= +(x !== 0) & (+(x < lo) | +(x > hi));
    }
    if (bad !== 0) return false;
  }
  return true;
}

export function allAtLeast(d: Storage, bound: number): boolean {
  if (bound === 0 && d instanceof Float32Array) return allBitsWithin(d, 0, POS_INF_BITS);
  for (let i = 0; i < d.length; i++) {
    const v = d[i]!;
    if (!(v >= bound) || (v === 0 && Object.is(v, -0))) return false;
  }
  return true;
}

export function allAtMost(d: Storage, bound: number): boolean {
  if (bound === 0 && d instanceof Float32Array) return allBitsWithin(d, NEG_ZERO_BITS + 1, NEG_INF_BITS);
  for (let i = 0; i < d.length; i++) {
    const v = d[i]!;
    if (!(v <= bound) || (v === 0 && Object.is(v, -0))) return false;
  }
  return true;
}

export function hasNegativeZero(d: Storage): boolean {
  if (d instanceof Float32Array) {
    const w = bitsOf(d);
    for (let b = 0; b < w.length; b += BLOCK) {
      const end = Math.min(w.length, b + BLOCK);
      let found = 0;
      for (let i = b; i < end; i++) found |= +(w[i] === NEG_ZERO_BITS);
      if (found !== 0) return true;
    }
    return false;
  }
  for (let i = 0; i < d.length; i++) if (d[i] === 0 && Object.is(d[i], -0)) return true;
  return false;
}

/** x * 0 is 0 for finite x and NaN otherwise; four independent sums keep the loop's dependency chain short. */
export function allFinite(d: Storage): boolean {
  let a0 = 0;
  let a1 = 0;
  let a2 = 0;
  let a3 = 0;
  const n4 = d.length & ~3;
  for (let i = 0; i < n4; i += 4) {
    a0 += d[i]! * 0;
    a1 += d[i + 1]! * 0;
    a2 += d[i + 2]! * 0;
    a3 += d[i + 3]! * 0;
  }
  for (let i = n4; i < d.length; i++) a0 += d[i]! * 0;
  return a0 + a1 + a2 + a3 === 0;
}
