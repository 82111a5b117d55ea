import { expect } from 'chai';
import { clampKernel, reluKernel, WASM_ELEMENTWISE_MIN } from '../../../engine/kernels/wasm/elementwise.js';
import { setKernelBackend } from '../../../engine/kernels/dispatch.js';
import { wasmKernelsAvailable } from '../../../engine/kernels/wasm/index.js';
import { Tensor } from '../../../engine/tensor.js';
import { clamp, relu } from '../../../engine/ops/elementwise.js';
import { mulberry32 } from '../../support/kernel-oracle.js';
import { kernelBackendPerTest } from '../../support/kernel-backend.js';

type FloatArray = Float32Array | Float64Array;
type Ctor = Float32ArrayConstructor | Float64ArrayConstructor;
const ctors: [string, Ctor][] = [
  ['float32', Float32Array],
  ['float64', Float64Array],
];

const specials = [NaN, Infinity, -Infinity, 0, -0, 1e-45, -1e-45, 3.4e38, -3.4e38, 1, -1];

/** Random signs and magnitudes, about one element in eight a special value (NaN, +-Infinity, +-0, ...). */
function randomData(T: Ctor, n: number, seed: number): FloatArray {
  const rnd = mulberry32(seed);
  const a = new T(n);
  for (let i = 0; i < n; i++) {
    a[i] = rnd() < 0.125 ? specials[Math.floor(rnd() * specials.length)]! : (rnd() * 2 - 1) * Math.pow(10, Math.floor(rnd() * 6) - 3);
  }
  return a;
}

/** The loops of engine/ops/elementwise.ts, verbatim. */
function jsClamp(s: FloatArray, d: FloatArray, lo: number, hi: number): void {
  for (let i = 0; i < s.length; i++) {
    const v = s[i]!;
    d[i] = v < lo ? lo : v > hi ? hi : v;
  }
}
function jsRelu(s: FloatArray, d: FloatArray): void {
  for (let i = 0; i < s.length; i++) {
    const v = s[i]!;
    d[i] = v <= 0 ? 0 : v;
  }
}

/** Bitwise equality, NaN payloads included. */
function expectSameBits(got: FloatArray, want: FloatArray, what: string): void {
  expect(got.length, what).to.equal(want.length);
  const g = new Uint8Array(got.buffer, got.byteOffset, got.byteLength);
  const w = new Uint8Array(want.buffer, want.byteOffset, want.byteLength);
  for (let i = 0; i < g.length; i++) {
    if (g[i] !== w[i]) {
      const e = Math.floor(i / got.BYTES_PER_ELEMENT);
      expect.fail(`${what}: element ${e} differs: got ${Object.is(got[e], -0) ? '-0' : got[e]}, want ${Object.is(want[e], -0) ? '-0' : want[e]}`);
    }
  }
}

const lengths = [0, 1, 3, 7, 15, 17, 63, WASM_ELEMENTWISE_MIN - 1, WASM_ELEMENTWISE_MIN, WASM_ELEMENTWISE_MIN + 5, 65535, 65536 + 4099, 200003];
const bounds: [string, number, number][] = [
  ['lo only (0)', 0, Infinity],
  ['hi only (0)', -Infinity, 0],
  ['lo -0', -0, Infinity],
  ['hi -0', -Infinity, -0],
  ['both', -0.5, 0.25],
  ['both, equal', 0.5, 0.5],
  ['neither', -Infinity, Infinity],
  ['infinite lo', Infinity, Infinity],
];

describe('WebAssembly SIMD clamp / relu kernels', function () {
  this.timeout(60_000);
  kernelBackendPerTest(null);

  it('are loaded (kernels.wasm exports clamp and relu)', () => {
    expect(wasmKernelsAvailable()).to.equal(true);
  });

  for (const [dt, T] of ctors) {
    describe(dt, () => {
      it('clampKernel equals the JavaScript loop bit for bit (NaN, +-Infinity, +-0; lo, hi, both; odd lengths)', () => {
        setKernelBackend('wasm');
        let seed = 1;
        for (const n of lengths) {
          const src = randomData(T, n, seed++);
          const orig = src.slice();
          for (const [name, lo, hi] of bounds) {
            const want = new T(n);
            jsClamp(src, want, lo, hi);
            const got = new T(n).fill(12345);
            expect(clampKernel(src, got, lo, hi), `${name} n=${n} ran`).to.equal(true);
            expectSameBits(got, want, `clamp ${name} n=${n}`);
            expectSameBits(src, orig, `clamp ${name} n=${n} left src alone`);
          }
        }
      });

      it('clampKernel works in place (dst === src)', () => {
        setKernelBackend('wasm');
        const a = randomData(T, 70001, 99);
        const want = new T(a.length);
        jsClamp(a, want, -0.25, 0);
        expect(clampKernel(a, a, -0.25, 0)).to.equal(true);
        expectSameBits(a, want, 'in place');
      });

      it('reluKernel equals the JavaScript loop bit for bit (NaN stays NaN with its bits, -0 -> 0)', () => {
        setKernelBackend('wasm');
        let seed = 1000;
        for (const n of lengths) {
          const src = randomData(T, n, seed++);
          const want = new T(n);
          jsRelu(src, want);
          const got = new T(n).fill(12345);
          expect(reluKernel(src, got), `n=${n} ran`).to.equal(true);
          expectSameBits(got, want, `relu n=${n}`);
        }
      });

      it('clamp() and relu() give the JavaScript loops\' bits below and above the threshold, with either backend', () => {
        for (const backend of ['wasm', 'ts'] as const) {
          setKernelBackend(backend);
          for (const n of [WASM_ELEMENTWISE_MIN - 3, WASM_ELEMENTWISE_MIN + 3, 3 * 65536 + 1]) {
            const src = randomData(T, n, n);
            const x = new Tensor(src, [n]);
            for (const [name, lo, hi] of bounds) {
              const want = new T(n);
              jsClamp(src, want, lo, hi);
              const y = clamp(x, lo === -Infinity ? null : lo, hi === Infinity ? null : hi);
              expectSameBits(y.data as FloatArray, want, `${backend} clamp ${name} n=${n}`);
            }
            const want = new T(n);
            jsRelu(src, want);
            expectSameBits(relu(x).data as FloatArray, want, `${backend} relu n=${n}`);
          }
        }
      });
    });
  }

  it('return false, writing nothing, when the TypeScript backend is chosen', () => {
    setKernelBackend('ts');
    const src = new Float32Array([-1, 2, -3, 4]);
    const dst = new Float32Array(4).fill(7);
    expect(clampKernel(src, dst, 0, Infinity)).to.equal(false);
    expect(reluKernel(src, dst)).to.equal(false);
    expect(Array.from(dst)).to.deep.equal([7, 7, 7, 7]);
  });

  it('decline what the SIMD form cannot reproduce exactly: lo > hi, NaN bounds, float32 bounds that are not float32 values, mixed or integer arrays', () => {
    setKernelBackend('wasm');
    const f32 = new Float32Array([-1, 2, -3, 4]);
    const out = new Float32Array(4);
    expect(clampKernel(f32, out, 1, 0)).to.equal(false);
    expect(clampKernel(f32, out, NaN, 1)).to.equal(false);
    expect(clampKernel(f32, out, 0.1, 1)).to.equal(false);
    expect(clampKernel(f32, out, 1e-50, Infinity)).to.equal(false);
    expect(clampKernel(f32, new Float64Array(4), 0, 1)).to.equal(false);
    expect(clampKernel(new Int32Array(4), new Int32Array(4), 0, 1)).to.equal(false);
    expect(reluKernel(f32, new Float64Array(4))).to.equal(false);
    expect(clampKernel(new Float64Array([0.05, 0.2]), new Float64Array(2), 0.1, 1)).to.equal(true);
    // Through the op, the declined cases still give the loop's results.
    for (const [lo, hi] of [[0.1, 1], [1e-50, null], [1, 0]] as const) {
      const src = randomData(Float32Array, 5000, 7) as Float32Array;
      const want = new Float32Array(src.length);
      jsClamp(src, want, lo, hi ?? Infinity);
      expectSameBits(clamp(new Tensor(src, [src.length]), lo, hi).data as Float32Array, want, `clamp(${lo}, ${hi})`);
    }
  });
});
