import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { gemm, gemmStrided, getKernelBackend, setKernelBackend, conv2dForward, type ConvGeometry, type FloatArray } from '../../../engine/kernels/dispatch.js';
import { gemmPacked } from '../../../engine/kernels/ts/gemm.js';
import { gemmReference } from '../../support/kernel-reference.js';
import { gemmWasm, setWasmGemmBlockElements } from '../../../engine/kernels/wasm/gemm.js';
import { conv2dForwardWasm, conv2dBackwardInputWasm, conv2dBackwardWeightWasm } from '../../../engine/kernels/wasm/conv.js';
import {
  initWasmKernels,
  loadWasmKernels,
  wasmLoadFailure,
  wasmKernelsActive,
  wasmKernelsAvailable,
  wasmVariant,
} from '../../../engine/kernels/wasm/index.js';
import { convGeometry, dtypes, edgeCaseConvGeometries, expectConvKernelsMatchReference, mulberry32, randomArray, randomConvGeometry, relErr } from '../../support/kernel-oracle.js';


function sameBits(a: FloatArray, b: FloatArray): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));

/** Runs a snippet in a fresh Node with the given extra environment and flags; returns its stdout. */
function runChild(code: string, env: Record<string, string | undefined>, flags: string[] = []): string {
  const childEnv: Record<string, string | undefined> = { ...process.env, ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete childEnv[k];
  return execFileSync(process.execPath, [...flags, '--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: repoRoot,
    env: childEnv as NodeJS.ProcessEnv,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
}

describe('kernels: WebAssembly SIMD backend', function () {
  const hasBuiltinLoader = typeof (process as { getBuiltinModule?: unknown }).getBuiltinModule === 'function';

  // The suite also runs under LRP_TAPE_KERNELS=ts: whatever these tests switch, the spec files
  // after this one get the kernel set the process started with.
  let initial = getKernelBackend();

  before(function () {
    // Node >= 20.16 reads kernels.wasm at module load; a failure there would silently test nothing.
    if (hasBuiltinLoader) expect(wasmKernelsAvailable(), 'kernels.wasm did not load').to.equal(true);
    if (!wasmKernelsAvailable()) this.skip();
    initial = getKernelBackend();
  });

  beforeEach(function () {
    setKernelBackend('wasm');
  });

  after(function () {
    if (wasmKernelsAvailable()) setKernelBackend(initial);
  });

  describe('gemm vs reference', function () {
    // Edges of the 4x8 (f32) / 4x4 (f64) micro-tiles, of KC = 512 (equal slices), of MC = 64 and of NC = 4096.
    const fixed: [number, number, number][] = [
      [1, 1, 1], [1, 9, 3], [5, 1, 9], [4, 8, 4], [3, 5, 7], [13, 17, 19], [31, 29, 37], [64, 64, 64],
      [5, 4099, 3], [130, 9, 257], [67, 129, 513], [65, 17, 1025], [300, 45, 21], [8, 8, 1100], [129, 33, 1],
      [2, 4105, 2], [63, 8, 512],
    ];
    for (const [name, T, tol] of dtypes) {
      it(`${name}: fixed and random shapes, transposes, leading dimensions, offsets, accumulate`, function () {
        const rnd = mulberry32(name === 'float32' ? 11 : 12);
        const shapes = [...fixed];
        for (let i = 0; i < 40; i++) shapes.push([1 + Math.floor(rnd() * 90), 1 + Math.floor(rnd() * 90), 1 + Math.floor(rnd() * 300)]);
        for (const [M, N, K] of shapes) {
          for (let combo = 0; combo < 16; combo++) {
            const transA = (combo & 1) !== 0;
            const transB = (combo & 2) !== 0;
            const accumulate = (combo & 4) !== 0;
            const strided = (combo & 8) !== 0;
            // Stored shapes and row strides: a strided operand is a column range of a wider matrix.
            const aRows = transA ? K : M, aCols = transA ? M : K;
            const bRows = transB ? N : K, bCols = transB ? K : N;
            const lda = aCols + (strided ? 1 + Math.floor(rnd() * 5) : 0);
            const ldb = bCols + (strided ? Math.floor(rnd() * 40) : 0);
            const ldc = N + (strided ? 1 + Math.floor(rnd() * 3) : 0);
            const aOff = Math.floor(rnd() * 5), bOff = Math.floor(rnd() * 5), cOff = Math.floor(rnd() * 5);
            const A = randomArray(T, aOff + (aRows - 1) * lda + aCols + 3, rnd);
            const B = randomArray(T, bOff + (bRows - 1) * ldb + bCols + 3, rnd);
            const C0 = randomArray(T, cOff + (M - 1) * ldc + N + 3, rnd);
            // The oracle works on compact matrices: gather, multiply, scatter into a copy of C0.
            const a = new T(M * K), b = new T(K * N), c = new T(M * N);
            for (let r = 0; r < aRows; r++) for (let q = 0; q < aCols; q++) a[r * aCols + q] = A[aOff + r * lda + q]!;
            for (let r = 0; r < bRows; r++) for (let q = 0; q < bCols; q++) b[r * bCols + q] = B[bOff + r * ldb + q]!;
            for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) c[i * N + j] = C0[cOff + i * ldc + j]!;
            gemmReference(transA, transB, M, N, K, a, 0, b, 0, c, 0, accumulate);
            const want = C0.slice();
            for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) want[cOff + i * ldc + j] = c[i * N + j]!;

            const got = C0.slice();
            expect(gemmWasm(transA, transB, M, N, K, A, aOff, lda, B, bOff, ldb, got, cOff, ldc, accumulate)).to.equal(true);
            const e = relErr(got, want);
            if (!(e <= tol)) expect.fail(`${name} M=${M} N=${N} K=${K} tA=${transA} tB=${transB} acc=${accumulate} lda=${lda} ldb=${ldb} ldc=${ldc}: rel err ${e}`);
          }
        }
      });
    }

    for (const [name, T, tol] of dtypes) {
      it(`${name}: products larger than one block run as M, N and K blocks (accumulating over K)`, function () {
        const rnd = mulberry32(name === 'float32' ? 15 : 16);
        const prev = setWasmGemmBlockElements(4096); // K blocks of 64
        try {
          const shapes: [number, number, number][] = [[1, 300, 200], [300, 1, 200], [70, 90, 150], [3, 2000, 5], [2000, 3, 7], [45, 61, 64], [129, 257, 65]];
          for (const [M, N, K] of shapes) {
            for (let combo = 0; combo < 8; combo++) {
              const transA = (combo & 1) !== 0, transB = (combo & 2) !== 0, accumulate = (combo & 4) !== 0;
              const A = randomArray(T, M * K + 2, rnd), B = randomArray(T, K * N + 2, rnd), C0 = randomArray(T, M * N + 3, rnd);
              const want = C0.slice();
              gemmReference(transA, transB, M, N, K, A, 1, B, 2, want, 3, accumulate);
              const got = C0.slice();
              expect(gemmWasm(transA, transB, M, N, K, A, 1, transA ? M : K, B, 2, transB ? K : N, got, 3, N, accumulate)).to.equal(true);
              const e = relErr(got, want);
              if (!(e <= tol)) expect.fail(`${name} M=${M} N=${N} K=${K} tA=${transA} tB=${transB} acc=${accumulate}: rel err ${e}`);
            }
          }
        } finally {
          setWasmGemmBlockElements(prev);
        }
      });
    }

    it('a 1024-cube product matches the reference within float32 tolerance', function () {
      const rnd = mulberry32(5);
      const n = 1024;
      const A = randomArray(Float32Array, n * n, rnd);
      const B = randomArray(Float32Array, n * n, rnd);
      const want = new Float32Array(n * n);
      // Reference on every 7th row only (the full oracle takes seconds): rows are independent.
      const got = new Float32Array(n * n);
      gemm(false, true, n, n, n, A, 0, B, 0, got, 0, false);
      for (let i = 0; i < n; i += 7) gemmReference(false, true, 1, n, n, A, i * n, B, 0, want, i * n, false);
      let err = 0, scale = 0;
      for (let i = 0; i < n; i += 7) {
        for (let j = 0; j < n; j++) {
          scale = Math.max(scale, Math.abs(want[i * n + j]!));
          err = Math.max(err, Math.abs(got[i * n + j]! - want[i * n + j]!));
        }
      }
      expect(err / scale).to.be.at.most(1e-5);
    });

    it('propagates NaN and Inf like IEEE arithmetic', function () {
      const M = 9, N = 11, K = 13;
      for (const T of [Float32Array, Float64Array]) {
        const A = new T(M * K).fill(1);
        const B = new T(K * N).fill(1);
        A[2 * K + 3] = NaN;
        B[5 * N + 7] = Infinity;
        const C = new T(M * N);
        expect(gemmWasm(false, false, M, N, K, A, 0, K, B, 0, N, C, 0, N, false)).to.equal(true);
        for (let i = 0; i < M; i++) {
          for (let j = 0; j < N; j++) {
            const v = C[i * N + j]!;
            if (i === 2) expect(v, `row 2 col ${j}`).to.be.NaN;
            else if (j === 7) expect(v).to.equal(Infinity);
            else expect(v).to.equal(K);
          }
        }
      }
    });
  });

  describe('conv2d vs reference', function () {
    const fixed: ConvGeometry[] = [
      ...edgeCaseConvGeometries,
      convGeometry(2, 12, 17, 19, 20, 3, 3, [1, 1], [1, 1], [1, 1], 1), // every micro-tile edge of the GEMMs
      convGeometry(2, 64, 14, 14, 64, 3, 3, [1, 1], [1, 1], [1, 1], 1), // a ResNet-shaped layer
      convGeometry(1, 3, 32, 32, 16, 7, 7, [2, 2], [3, 3], [1, 1], 1), // a stem
    ];

    const ranges = { channels: 6, side: 16, outChannels: 10, padding: 3, dilation: 3 };
    const randomGeometry = (rnd: () => number): ConvGeometry => randomConvGeometry(rnd, ranges);

    for (const [name, T, tol] of dtypes) {
      it(`${name}: forward, backward-input and backward-weight on strides, paddings, dilations and groups`, function () {
        const rnd = mulberry32(name === 'float32' ? 13 : 14);
        const geoms = [...fixed];
        for (let i = 0; i < 60; i++) geoms.push(randomGeometry(rnd));
        expectConvKernelsMatchReference(name, T, tol, geoms, rnd, { forward: conv2dForwardWasm, backwardInput: conv2dBackwardInputWasm, backwardWeight: conv2dBackwardWeightWasm });
      });
    }
  });

  describe('backend switch', function () {
    const rnd = mulberry32(21);
    const M = 37, N = 45, K = 53;
    const A = randomArray(Float32Array, M * K, rnd);
    const B = randomArray(Float32Array, K * N, rnd);

    it("setKernelBackend('ts') routes gemm and conv to the TypeScript kernels, 'wasm' back to WebAssembly", function () {
      const viaTs = new Float32Array(M * N);
      gemmPacked(false, false, M, N, K, A, 0, B, 0, viaTs, 0, false);
      const viaWasm = new Float32Array(M * N);
      gemmWasm(false, false, M, N, K, A, 0, K, B, 0, N, viaWasm, 0, N, false);
      // The two accumulate differently (doubles in TS, float32 lanes in wasm), so the bits tell which ran.
      expect(sameBits(viaTs, viaWasm)).to.equal(false);

      setKernelBackend('ts');
      expect(getKernelBackend()).to.equal('ts');
      expect(wasmKernelsActive()).to.equal(false);
      const c1 = new Float32Array(M * N);
      gemm(false, false, M, N, K, A, 0, B, 0, c1, 0, false);
      expect(sameBits(c1, viaTs)).to.equal(true);

      setKernelBackend('wasm');
      expect(getKernelBackend()).to.equal('wasm');
      const c2 = new Float32Array(M * N);
      gemmStrided(false, false, M, N, K, A, 0, K, B, 0, N, c2, 0, N, false);
      expect(sameBits(c2, viaWasm)).to.equal(true);

      const g: ConvGeometry = { N: 1, C: 8, H: 12, W: 12, O: 16, KH: 3, KW: 3, OH: 12, OW: 12, strideH: 1, strideW: 1, padH: 1, padW: 1, dilH: 1, dilW: 1, groups: 1 };
      const x = randomArray(Float32Array, 8 * 144, rnd);
      const w = randomArray(Float32Array, 16 * 72, rnd);
      const yWasm = new Float32Array(16 * 144);
      conv2dForwardWasm(x, w, yWasm, g);
      const y1 = new Float32Array(16 * 144);
      conv2dForward(x, w, y1, g);
      expect(sameBits(y1, yWasm)).to.equal(true);
      setKernelBackend('ts');
      const y2 = new Float32Array(16 * 144);
      conv2dForward(x, w, y2, g);
      expect(sameBits(y2, yWasm)).to.equal(false);
      expect(relErr(y2, yWasm)).to.be.at.most(1e-5);
    });

    it('rejects an unknown backend name', function () {
      expect(() => setKernelBackend('gpu' as never)).to.throw(TypeError);
      expect(getKernelBackend()).to.equal('wasm');
    });

    it('keeps the loaded kernels when handed bytes that are not a kernel module', function () {
      expect(initWasmKernels(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]))).to.equal(false);
      expect(initWasmKernels(new Uint8Array([1, 2, 3]))).to.equal(false);
      expect(getKernelBackend()).to.equal('wasm');
    });

    it('reloads from bytes (the browser path) and keeps computing the same results', function () {
      // The file of the module that runs (relaxed SIMD under --experimental-wasm-relaxed-simd), so the spec files after this one keep it.
      const variant = wasmVariant();
      const file = variant === 'relaxed-simd' ? 'kernels-relaxed.wasm' : 'kernels.wasm';
      const bytes = readFileSync(new URL(`../../../engine/kernels/wasm/${file}`, import.meta.url));
      expect(initWasmKernels(bytes)).to.equal(true);
      expect(wasmVariant(), 'the dist/ file of an embedded module counts as that module').to.equal(variant);
      const c = new Float32Array(M * N);
      gemm(false, false, M, N, K, A, 0, B, 0, c, 0, false);
      const again = new Float32Array(M * N);
      gemmWasm(false, false, M, N, K, A, 0, K, B, 0, N, again, 0, N, false);
      expect(sameBits(c, again)).to.equal(true);
    });

    const probe = [
      "import { gemm, getKernelBackend } from './engine/kernels/dispatch.js';",
      'const c = new Float32Array(64 * 64);',
      'gemm(false, false, 64, 64, 64, new Float32Array(64 * 64).fill(1), 0, new Float32Array(64 * 64).fill(2), 0, c, 0, false);',
      'console.log(getKernelBackend() + " " + c[0] + " " + c[4095]);',
    ].join('\n');

    it('LRP_TAPE_KERNELS=ts forces TypeScript in a fresh process; unset, WebAssembly loads', function () {
      this.timeout(60000);
      expect(runChild(probe, { LRP_TAPE_KERNELS: 'ts' })).to.equal('ts 128 128');
      expect(runChild(probe, { LRP_TAPE_KERNELS: undefined })).to.equal(hasBuiltinLoader ? 'wasm 128 128' : 'ts 128 128');
    });

    it('falls back to TypeScript where WebAssembly is missing, with one warning that says so', function () {
      this.timeout(60000);
      // --jitless removes the WebAssembly global altogether.
      const twice = `${probe}\nconsole.log(JSON.stringify((await import('./engine/kernels/status.js')).kernelStatus().wasmFailure));`;
      const res = spawnSync(process.execPath, ['--jitless', '--import', 'tsx', '--input-type=module', '-e', twice], { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, LRP_TAPE_KERNELS: '' } });
      expect(res.stdout.trim().split('\n')).to.deep.equal(['ts 128 128', '"this runtime has no WebAssembly"']);
      const warnings = res.stderr.split('\n').filter((l) => l.includes('lrp-tape'));
      expect(warnings).to.deep.equal(['lrp-tape: WebAssembly kernels unavailable (this runtime has no WebAssembly); using the TypeScript kernels, several times slower.']);
    });

    it('a failed load from a URL names it and keeps the loaded kernels', async function () {
      const warned: string[] = [];
      const warn = console.warn;
      console.warn = (m: string) => warned.push(m);
      try {
        const notFound = Promise.resolve({ ok: false, status: 404, arrayBuffer: async () => new ArrayBuffer(0) });
        expect(await loadWasmKernels(notFound, 'https://example.test/kernels.wasm')).to.equal(false);
        expect(await loadWasmKernels(notFound, 'https://example.test/kernels.wasm')).to.equal(false);
      } finally {
        console.warn = warn;
      }
      expect(warned).to.deep.equal(['lrp-tape: could not load the WebAssembly kernels (https://example.test/kernels.wasm answered HTTP 404); keeping the kernels already loaded.']);
      expect(getKernelBackend()).to.equal('wasm');
      expect(wasmLoadFailure()).to.equal(null);
    });
  });
});

describe('kernels: after the WebAssembly specs', function () {
  it('the process is back on the kernel set it started with (LRP_TAPE_KERNELS)', function () {
    const forcedTs = process.env.LRP_TAPE_KERNELS?.trim().toLowerCase() === 'ts';
    expect(getKernelBackend()).to.equal(forcedTs || !wasmKernelsAvailable() ? 'ts' : 'wasm');
  });
});
