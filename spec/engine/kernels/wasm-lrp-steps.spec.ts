import { expect } from 'chai';
import { passWithinKernel, stabilizedDivKernel, WASM_ELEMENTWISE_MIN } from '../../../engine/kernels/wasm/elementwise.js';
import { passWithin, stabilizedDiv } from '../../../engine/kernels/ts/unary.js';
import { setKernelBackend } from '../../../engine/kernels/dispatch.js';
import { expectSameBits, randomData } from '../../support/float-bits.js';
import { kernelBackendPerTest } from '../../support/kernel-backend.js';

const ctors: [string, Float32ArrayConstructor | Float64ArrayConstructor][] = [
  ['float32', Float32Array],
  ['float64', Float64Array],
];
const lengths = [WASM_ELEMENTWISE_MIN, WASM_ELEMENTWISE_MIN + 3, 65536 + 4099, 200003];
/** zennit's default, one that float32 cannot hold, a large one, and zero (then y = +-0 divides by +-0). */
const epsilons = [1e-6, 0.1, 0.25, 0];
/**
 * Bounds as the rules pass them: relu's (0, inf], clamp's closed ranges, Gamma's sides (x < 0 as
 * x <= -Number.MIN_VALUE, which no float32 equals), a bound between two float32 values, and NaN.
 */
const bounds: [number, number, boolean][] = [
  [0, Infinity, true],
  [-Infinity, 0, false],
  [-Infinity, -Number.MIN_VALUE, false],
  [-3, 3, false],
  [0.1, 0.7, true],
  [-1e-40, 1e-40, false],
  [NaN, 1, false],
];

describe('WebAssembly SIMD stabilised divide and clamp/relu VJP', function () {
  this.timeout(60_000);
  kernelBackendPerTest('wasm');

  for (const [dt, T] of ctors) {
    it(`stabilized_div (${dt}) equals the JavaScript loop bit for bit (computed in float64, one rounding)`, () => {
      let seed = 31;
      for (const n of lengths) {
        const r = randomData(T, n, seed++);
        const y = randomData(T, n, seed++);
        for (const eps of epsilons) {
          const want = new T(n);
          stabilizedDiv(r, y, want, eps);
          const got = new T(n).fill(12345);
          expect(stabilizedDivKernel(r, y, got, eps), `n=${n} ran`).to.equal(true);
          expectSameBits(got, want, `stabilized_div eps=${eps} n=${n}`);
          // In place over r, as the op's fresh output may be.
          const inPlace = r.slice();
          expect(stabilizedDivKernel(inPlace, y, inPlace, eps)).to.equal(true);
          expectSameBits(inPlace, want, `stabilized_div in place eps=${eps} n=${n}`);
        }
      }
    });

    it(`pass_within (${dt}) equals the JavaScript loop bit for bit: open and closed bounds, bounds no float32 equals, NaN`, () => {
      let seed = 71;
      for (const n of lengths) {
        const g = randomData(T, n, seed++);
        const x = randomData(T, n, seed++);
        for (const [lo, hi, openLo] of bounds) {
          const want = new T(n);
          passWithin(g, x, want, lo, hi, openLo);
          const got = new T(n).fill(12345);
          expect(passWithinKernel(g, x, got, lo, hi, openLo), `n=${n} ran`).to.equal(true);
          expectSameBits(got, want, `pass_within [${lo}, ${hi}] open ${openLo} n=${n}`);
          const inPlace = g.slice();
          expect(passWithinKernel(inPlace, x, inPlace, lo, hi, openLo)).to.equal(true);
          expectSameBits(inPlace, want, `pass_within in place [${lo}, ${hi}] n=${n}`);
        }
      }
    });
  }

  it('decline mixed dtypes, mismatched lengths and the TypeScript backend, writing nothing', () => {
    const a = new Float32Array(300).fill(2);
    const out = new Float32Array(300).fill(7);
    expect(stabilizedDivKernel(a, new Float64Array(300), out, 1e-6)).to.equal(false);
    expect(stabilizedDivKernel(a, new Float32Array(299), out, 1e-6)).to.equal(false);
    expect(passWithinKernel(a, new Float64Array(300), out, 0, 1, false)).to.equal(false);
    expect(passWithinKernel(new Float32Array(301), a, out, 0, 1, false)).to.equal(false);
    setKernelBackend('ts');
    expect(stabilizedDivKernel(a, a, out, 1e-6)).to.equal(false);
    expect(passWithinKernel(a, a, out, 0, 1, false)).to.equal(false);
    expect(Array.from(out).every((v) => v === 7)).to.equal(true);
  });
});
