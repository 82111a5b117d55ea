import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { gemm, conv2dForward, conv2dBackwardInput, conv2dBackwardWeight, type ConvGeometry } from '../../../engine/kernels/dispatch.js';
import { gemmPacked } from '../../../engine/kernels/ts/gemm.js';
import { gemmReference } from '../../support/kernel-reference.js';
import { deriveF64, f32Path, f64Path } from '../../../scripts/gemm-codegen.js';
import { dtypes, edgeCaseConvGeometries, expectConvKernelsMatchReference, mulberry32, randomArray, randomConvGeometry, relErr } from '../../support/kernel-oracle.js';


describe('kernels', function () {
  it('gemm-f64.ts is the generated twin of gemm-f32.ts', function () {
    expect(readFileSync(f64Path, 'utf8')).to.equal(deriveF64(readFileSync(f32Path, 'utf8')), 'run node --import tsx scripts/gemm-codegen.ts');
  });

  describe('gemm vs reference', function () {
    // Edges of the 4x4 micro-tile, of KC = 256, of the packed-A block (128 rows at full KC) and of NC = 4096.
    const fixed: [number, number, number][] = [
      [1, 1, 1], [1, 7, 3], [5, 1, 9], [4, 4, 4], [3, 5, 7], [13, 17, 19], [31, 29, 37],
      [64, 64, 64], [5, 4099, 3], [130, 9, 257], [67, 129, 513], [300, 45, 21], [8, 8, 700],
    ];
    for (const [name, T, tol] of dtypes) {
      it(`${name}: fixed and random shapes, all transposes, accumulate, offsets`, function () {
        const rnd = mulberry32(name === 'float32' ? 1 : 2);
        const shapes = [...fixed];
        for (let i = 0; i < 30; i++) shapes.push([1 + Math.floor(rnd() * 70), 1 + Math.floor(rnd() * 70), 1 + Math.floor(rnd() * 90)]);
        for (const [M, N, K] of shapes) {
          for (let combo = 0; combo < 8; combo++) {
            const transA = (combo & 1) !== 0;
            const transB = (combo & 2) !== 0;
            const accumulate = (combo & 4) !== 0;
            const aOff = Math.floor(rnd() * 5);
            const bOff = Math.floor(rnd() * 5);
            const cOff = Math.floor(rnd() * 5);
            const A = randomArray(T, aOff + M * K + 3, rnd);
            const B = randomArray(T, bOff + K * N + 3, rnd);
            // Random C (not zeros) checks both the overwrite and the accumulate path, and the
            // padding around [cOff, cOff + M*N) checks nothing outside it is written.
            const C0 = randomArray(T, cOff + M * N + 3, rnd);
            const want = C0.slice();
            gemmReference(transA, transB, M, N, K, A, aOff, B, bOff, want, cOff, accumulate);
            for (const [label, fn] of [['gemm', gemm], ['gemmPacked', gemmPacked]] as const) {
              const got = C0.slice();
              fn(transA, transB, M, N, K, A, aOff, B, bOff, got, cOff, accumulate);
              const e = relErr(got, want);
              if (!(e <= tol)) expect.fail(`${label} ${name} M=${M} N=${N} K=${K} tA=${transA} tB=${transB} acc=${accumulate}: rel err ${e}`);
            }
          }
        }
      });
    }

    it('rejects mixed dtypes on both paths', function () {
      const a = new Float32Array(64 * 64);
      const b = new Float64Array(64 * 64);
      expect(() => gemm(false, false, 64, 64, 64, a, 0, b, 0, new Float32Array(64 * 64), 0, false)).to.throw(TypeError);
      expect(() => gemm(false, false, 1, 1, 1, b, 0, b, 0, new Float32Array(1), 0, false)).to.throw(TypeError);
    });

    it('K = 0 yields zeros or leaves C untouched', function () {
      const c = new Float64Array([1, 2, 3, 4]);
      gemm(false, false, 2, 2, 0, new Float64Array(0), 0, new Float64Array(0), 0, c, 0, true);
      expect([...c]).to.deep.equal([1, 2, 3, 4]);
      gemm(false, false, 2, 2, 0, new Float64Array(0), 0, new Float64Array(0), 0, c, 0, false);
      expect([...c]).to.deep.equal([0, 0, 0, 0]);
    });
  });

  describe('conv2d vs reference', function () {
    const fixed = edgeCaseConvGeometries;

    const ranges = { channels: 4, side: 14, outChannels: 4, padding: 2, dilation: 2 };
    const randomGeometry = (rnd: () => number): ConvGeometry => randomConvGeometry(rnd, ranges);

    for (const [name, T, tol] of dtypes) {
      it(`${name}: forward, backward-input and backward-weight on fixed and random geometries`, function () {
        const rnd = mulberry32(name === 'float32' ? 3 : 4);
        const geoms = [...fixed];
        for (let i = 0; i < 40; i++) geoms.push(randomGeometry(rnd));
        expectConvKernelsMatchReference(name, T, tol, geoms, rnd, { forward: conv2dForward, backwardInput: conv2dBackwardInput, backwardWeight: conv2dBackwardWeight });
      });
    }
  });
});
