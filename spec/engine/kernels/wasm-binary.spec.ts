import { expect } from 'chai';
import { addChannelBiasKernel, binaryKernel, WASM_ELEMENTWISE_MIN } from '../../../engine/kernels/wasm/elementwise.js';
import { addChannelBias } from '../../../engine/kernels/ts/along-axis.js';
import { binary } from '../../../engine/kernels/ts/elementwise.js';
import { BinaryCode } from '../../../engine/kernels/types.js';
import { setKernelBackend } from '../../../engine/kernels/dispatch.js';
import { Tensor } from '../../../engine/tensor.js';
import { add, div, mul, sub } from '../../../engine/ops/elementwise.js';
import { expectSameBits, randomData } from '../../support/float-bits.js';
import { kernelBackendPerTest } from '../../support/kernel-backend.js';

type FloatArray = Float32Array | Float64Array;
const ctors: [string, Float32ArrayConstructor | Float64ArrayConstructor][] = [
  ['float32', Float32Array],
  ['float64', Float64Array],
];
const codes: [string, BinaryCode][] = [
  ['add', BinaryCode.Add],
  ['sub', BinaryCode.Sub],
  ['mul', BinaryCode.Mul],
  ['div', BinaryCode.Div],
];

const lengths = [WASM_ELEMENTWISE_MIN, WASM_ELEMENTWISE_MIN + 5, 65535, 65536 + 4099, 200003];

describe('WebAssembly SIMD add / sub / mul / div kernels', function () {
  this.timeout(60_000);
  kernelBackendPerTest('wasm');

  for (const [dt, T] of ctors) {
    for (const [name, code] of codes) {
      it(`${name} (${dt}) equals the JavaScript loops bit for bit: same shapes, a scalar on either side, odd lengths`, () => {
        let seed = 7 + code;
        for (const n of lengths) {
          const a = randomData(T, n, seed++);
          const b = randomData(T, n, seed++);
          const s = randomData(T, 1, seed++);
          for (const [label, x, y] of [['same shape', a, b], ['scalar second', a, s], ['scalar first', s, b]] as const) {
            const want = new T(n);
            binary(code, x, [x.length], y, [y.length], want, [n]);
            const got = new T(n).fill(12345);
            expect(binaryKernel(code, x, y, got), `${label} n=${n} ran`).to.equal(true);
            expectSameBits(got, want, `${name} ${label} n=${n}`);
          }
        }
      });
    }
  }

  it('the ops give the loops\' results through either backend, below and above the threshold', () => {
    const ops = [add, sub, mul, div];
    for (const [, T] of ctors) {
      for (const n of [WASM_ELEMENTWISE_MIN - 3, 3 * 65536 + 1]) {
        const a = randomData(T, n, n);
        const b = randomData(T, n, n + 1);
        const results = (['wasm', 'ts'] as const).map((backend) => {
          setKernelBackend(backend);
          return ops.map((op) => [op(new Tensor(a, [n]), new Tensor(b, [n])).data, op(new Tensor(a, [n]), new Tensor(b.subarray(0, 1), [])).data] as FloatArray[]);
        });
        results[0]!.forEach((pair, k) => pair.forEach((got, j) => expectSameBits(got, results[1]![k]![j]!, `op ${k} form ${j} n=${n}`)));
      }
    }
  });

  for (const [dt, T] of ctors) {
    it(`a channel bias (${dt}) is added as the loop adds it: short rows, rows across chunks, batches`, () => {
      for (const [N, O, P] of [[2, 3, 49], [1, 64, 3136], [1, 5, 70001], [3, 7, 1]] as const) {
        const y = randomData(T, N * O * P, N * O + P);
        const b = randomData(T, O, O);
        const want = y.slice();
        addChannelBias(want, b, N, O, P);
        const got = y.slice();
        expect(addChannelBiasKernel(got, b, N, O, P), `${N}x${O}x${P} ran`).to.equal(N * O * P >= WASM_ELEMENTWISE_MIN);
        if (N * O * P >= WASM_ELEMENTWISE_MIN) expectSameBits(got, want, `bias ${N}x${O}x${P}`);
      }
    });
  }

  it('decline what is not one of its forms, writing nothing: broadcasting, Copy, mixed or integer arrays, the TypeScript backend', () => {
    const a = new Float32Array(300).fill(2);
    const out = new Float32Array(300).fill(7);
    expect(binaryKernel(BinaryCode.Add, a, new Float32Array(3), out)).to.equal(false);
    expect(binaryKernel(BinaryCode.Copy, a, a, out)).to.equal(false);
    expect(binaryKernel(BinaryCode.Add, a, new Float64Array(300), out)).to.equal(false);
    expect(binaryKernel(BinaryCode.Add, new Int32Array(300), new Int32Array(300), new Int32Array(300))).to.equal(false);
    setKernelBackend('ts');
    expect(binaryKernel(BinaryCode.Add, a, a, out)).to.equal(false);
    expect(Array.from(out).every((v) => v === 7)).to.equal(true);
  });
});
