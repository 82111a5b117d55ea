import { expect } from 'chai';
import fc from 'fast-check';
import { allAtLeast, allAtMost, hasNegativeZero } from '../../../engine/kernels/ts/unary.js';

/** The predicates as written on values (the float32 kernels read bits instead). */
const isNegZero = (v: number): boolean => v === 0 && Object.is(v, -0);
const atLeastZero = (xs: ArrayLike<number>): boolean => Array.from(xs).every((v) => v >= 0 && !isNegZero(v));
const atMostZero = (xs: ArrayLike<number>): boolean => Array.from(xs).every((v) => v <= 0 && !isNegZero(v));
const anyNegZero = (xs: ArrayLike<number>): boolean => Array.from(xs).some(isNegZero);

/**
 * Float32 values from one side of zero or both, with the edge cases of each test: both zeros, the
 * smallest subnormals, infinities, NaN of either sign (as bits: -NaN has its sign bit set).
 */
const negativeNaN = new Float32Array(new Uint32Array([0xffc00001]).buffer)[0]!;
const edge = [0, -0, 1.401298464324817e-45, -1.401298464324817e-45, Infinity, -Infinity, NaN, negativeNaN, 3.4028234663852886e38, -3.4028234663852886e38];
const value = fc.oneof(
  fc.constantFrom(...edge),
  fc.float({ noNaN: true, min: 0 }),
  fc.float({ noNaN: true, max: 0 }),
);

describe('float32 scans over bits (clamp shortcuts, gradient sums)', () => {
  it('allAtLeast(x, 0), allAtMost(x, 0) and hasNegativeZero agree with the value tests, across blocks', () => {
    fc.assert(
      fc.property(
        fc.array(value, { maxLength: 40 }),
        fc.integer({ min: 0, max: 9000 }),
        fc.constantFrom('mixed', 'nonNegative', 'nonPositive'),
        (xs, pad, side) => {
          // Long runs of one side (past one 4096-element block) with the drawn values at the end, so
          // a value that fails a test sits in a later block than the first.
          const filler = side === 'nonPositive' ? -0.5 : side === 'nonNegative' ? 0.5 : 0;
          const d = new Float32Array(pad + xs.length);
          d.fill(filler, 0, pad);
          d.set(xs, pad);
          const sided = side === 'mixed' ? d : d.map((v) => (side === 'nonNegative' ? Math.abs(v) : -Math.abs(v)));
          expect(allAtLeast(sided, 0)).to.equal(atLeastZero(sided));
          expect(allAtMost(sided, 0)).to.equal(atMostZero(sided));
          expect(hasNegativeZero(sided)).to.equal(anyNegZero(sided));
        },
      ),
      { numRuns: 400, seed: 19 },
    );
  });

  it('the edge values one at a time', () => {
    for (const v of edge) {
      const d = new Float32Array([v]);
      expect(allAtLeast(d, 0), `${v} >= 0`).to.equal(atLeastZero(d));
      expect(allAtMost(d, 0), `${v} <= 0`).to.equal(atMostZero(d));
      expect(hasNegativeZero(d), `${v} is -0`).to.equal(anyNegZero(d));
    }
    // A negative NaN is neither >= 0 nor <= 0 (its bits look negative to an integer test).
    expect(allAtMost(new Float32Array([negativeNaN]), 0)).to.equal(false);
    expect(allAtLeast(new Float32Array([0, 0, 1e-45]), 0)).to.equal(true);
    expect(allAtMost(new Float32Array([0, -1e-45, -Infinity]), 0)).to.equal(true);
  });
});
