import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { gemm, gemmPacked, type FloatArray } from '../engine/kernels/gemm.js';
import { conv2dForward, conv2dBackwardInput, conv2dBackwardWeight, type ConvGeometry } from '../engine/kernels/conv.js';
import {
  gemmReference,
  conv2dForwardReference,
  conv2dBackwardInputReference,
  conv2dBackwardWeightReference,
} from '../engine/kernels/reference.js';
import { deriveF64, f32Path, f64Path } from '../bench/kernels-codegen.js';
import { dtypes, mulberry32, randomArray, relErr } from './support/kernel-oracle.js';


describe('kernels', function () {
  it('gemm-f64.ts is the generated twin of gemm-f32.ts', function () {
    expect(readFileSync(f64Path, 'utf8')).to.equal(deriveF64(readFileSync(f32Path, 'utf8')), 'run node --import tsx bench/kernels-codegen.ts');
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
    function geometry(
      N: number, C: number, H: number, W: number, O: number, KH: number, KW: number,
      s: [number, number], p: [number, number], d: [number, number], groups: number,
    ): ConvGeometry {
      const OH = Math.floor((H + 2 * p[0] - d[0] * (KH - 1) - 1) / s[0]) + 1;
      const OW = Math.floor((W + 2 * p[1] - d[1] * (KW - 1) - 1) / s[1]) + 1;
      return { N, C, H, W, O, KH, KW, OH, OW, strideH: s[0], strideW: s[1], padH: p[0], padW: p[1], dilH: d[0], dilW: d[1], groups };
    }

    const fixed: ConvGeometry[] = [
      geometry(2, 6, 9, 7, 4, 1, 1, [1, 1], [0, 0], [1, 1], 1), // pointwise: direct GEMM
      geometry(3, 6, 5, 8, 9, 1, 1, [1, 1], [0, 0], [2, 2], 3), // pointwise, grouped
      geometry(2, 5, 9, 9, 3, 1, 1, [2, 2], [0, 0], [1, 1], 1), // 1x1 but strided: im2col
      geometry(1, 3, 4, 4, 2, 1, 1, [1, 1], [1, 1], [1, 1], 1), // 1x1 but padded: im2col
      geometry(2, 4, 11, 13, 5, 3, 5, [1, 1], [1, 2], [1, 1], 1), // odd 3x5 kernel
      geometry(2, 6, 12, 10, 6, 3, 3, [2, 1], [1, 0], [2, 1], 2),
      geometry(1, 8, 10, 10, 8, 3, 3, [1, 1], [1, 1], [1, 1], 8), // depthwise
      geometry(1, 3, 6, 6, 2, 6, 6, [1, 1], [0, 0], [1, 1], 1), // kernel covers the whole image
      geometry(1, 2, 5, 5, 2, 3, 3, [3, 3], [2, 2], [1, 1], 1), // some output rows see only padding
      geometry(1, 16, 9, 9, 32, 3, 3, [1, 1], [1, 1], [1, 1], 1), // big enough for the packed GEMM
      geometry(1, 40, 130, 130, 3, 3, 5, [1, 1], [1, 2], [1, 1], 1), // Kc*OH*OW over COL_CAP: 5 bands
      geometry(1, 40, 140, 70, 2, 3, 5, [2, 1], [1, 2], [2, 1], 1), // banded with stride and dilation
    ];

    function randomGeometry(rnd: () => number): ConvGeometry {
      const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
      for (;;) {
        const groups = int(1, 3);
        const KH = int(1, 5), KW = int(1, 5);
        const g = geometry(
          int(1, 3), groups * int(1, 4), int(1, 14), int(1, 14), groups * int(1, 4), KH, KW,
          [int(1, 3), int(1, 3)], [int(0, 2), int(0, 2)], [int(1, 2), int(1, 2)], groups,
        );
        if (g.OH >= 1 && g.OW >= 1) return g;
      }
    }

    for (const [name, T, tol] of dtypes) {
      it(`${name}: forward, backward-input and backward-weight on fixed and random geometries`, function () {
        const rnd = mulberry32(name === 'float32' ? 3 : 4);
        const geoms = [...fixed];
        for (let i = 0; i < 40; i++) geoms.push(randomGeometry(rnd));
        for (const g of geoms) {
          const xs = g.N * g.C * g.H * g.W;
          const ws = g.O * (g.C / g.groups) * g.KH * g.KW;
          const ys = g.N * g.O * g.OH * g.OW;
          const x = randomArray(T, xs, rnd);
          const w = randomArray(T, ws, rnd);
          const gy = randomArray(T, ys, rnd);
          const tag = `${name} ${JSON.stringify(g)}`;
          // Outputs start as garbage: every kernel must overwrite, never accumulate into, its output.
          const check = (size: number, fast: (out: FloatArray) => void, ref: (out: FloatArray) => void, what: string) => {
            const want = new T(size);
            ref(want);
            const got = randomArray(T, size, rnd);
            fast(got);
            const e = relErr(got, want);
            if (!(e <= tol)) expect.fail(`${what} ${tag}: rel err ${e}`);
          };
          check(ys, (y) => conv2dForward(x, w, y, g), (y) => conv2dForwardReference(x, w, y, g), 'forward');
          check(xs, (gx) => conv2dBackwardInput(gy, w, gx, g), (gx) => conv2dBackwardInputReference(gy, w, gx, g), 'backward-input');
          check(ws, (gw) => conv2dBackwardWeight(x, gy, gw, g), (gw) => conv2dBackwardWeightReference(x, gy, gw, g), 'backward-weight');
        }
      });
    }
  });
});
