import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import {
  gemm, gemmStrided, getKernelBackend, setKernelBackend, conv2dForward, conv2dBackwardInput, conv2dBackwardWeight,
  type ConvGeometry, type FloatArray, type KernelBackend,
} from '../../../engine/kernels/dispatch.js';
import { wasmKernelsAvailable } from '../../../engine/kernels/wasm/index.js';
import {
  setKernelThreads,
  getKernelThreads,
  startKernelWorkers,
  kernelThreadStats,
  setKernelWorkerTimeout,
  setKernelThreadLimits,
  KernelWorkerError,
} from '../../../engine/kernels/parallel/index.js';
import {
  guidedBounds, planConv, bandRows, FORWARD, BACKWARD_INPUT, BACKWARD_WEIGHT, OUT_ROWS, IN_ROWS, W_CHANNELS, W_OUT, OUT_CHANNELS, IN_CHANNELS,
} from '../../../engine/kernels/parallel/tiles.js';
import * as engine from '../../../engine/index.js';
import { models, canonizers, composites, attribution } from '../../../index.js';
import { mulberry32, randomArray, dtypes } from '../../support/kernel-oracle.js';
import { runKernelWorkerTestJob, runKernelWorkerExitTestJob, useTestKernelWorker } from '../../support/kernel-test-jobs.js';

/** Index of the first element whose bits differ (Object.is: -0 and +0 differ, NaN equals NaN), or -1. */
function firstDifference(a: FloatArray, b: FloatArray): number {
  if (a.length !== b.length) return 0;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

function expectSameBits(got: FloatArray, want: FloatArray, what: string): void {
  const i = firstDifference(got, want);
  if (i >= 0) expect.fail(`${what}: element ${i} is ${got[i]} threaded, ${want[i]} on one thread`);
}

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));

function runChild(code: string, env: Record<string, string | undefined>, timeout = 60_000): string {
  const childEnv: Record<string, string | undefined> = { ...process.env, ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete childEnv[k];
  return execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: repoRoot,
    env: childEnv as NodeJS.ProcessEnv,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout,
  }).trim();
}

/**
 * The same call with threads = 1 and threads = `threads` (the pool ready from the first call), on
 * fresh copies of `out`; returns both results and how many calls were split.
 */
function bothWays(threads: number, out: FloatArray, call: (out: FloatArray) => void): { one: FloatArray; many: FloatArray; split: number } {
  setKernelThreads(1);
  const one = out.slice();
  call(one);
  setKernelThreads(threads);
  expect(startKernelWorkers(), 'kernel workers did not start').to.equal(true);
  const before = kernelThreadStats();
  const many = out.slice();
  call(many);
  const after = kernelThreadStats();
  return { one, many, split: after.gemm - before.gemm + after.conv - before.conv };
}

/** A ResNet big enough that the stem, the stage-1 convolutions and their gradients are split; its canonized view and an input. */
function canonizedResNet(seed: number) {
  const model = new models.ResNet({ block: 'BasicBlock', layers: [1, 1, 1, 1], planes: [32, 32, 64, 64], numClasses: 5, rng: new engine.Rng(seed) });
  model.eval();
  const view = canonizers.canonize(model, [canonizers.resnetCanonizer()]);
  return { model, view, x: engine.randn([1, 3, 64, 64], { rng: new engine.Rng(seed + 1) }) };
}

describe('kernels: threads (worker_threads + shared memory)', function () {
  this.timeout(600_000);
  const initialThreads = getKernelThreads();
  const initialBackend = getKernelBackend();
  const backends: KernelBackend[] = wasmKernelsAvailable() ? ['wasm', 'ts'] : ['ts'];

  before(function () {
    // Node >= 20.16 has process.getBuiltinModule, through which the pool reaches worker_threads.
    expect(typeof (process as { getBuiltinModule?: unknown }).getBuiltinModule).to.equal('function');
  });

  after(function () {
    setKernelThreads(initialThreads);
    if (wasmKernelsAvailable()) setKernelBackend(initialBackend);
  });

  describe('settings', function () {
    it('setKernelThreads / getKernelThreads, exported from engine/index.ts too', function () {
      expect(engine.setKernelThreads).to.equal(setKernelThreads);
      expect(engine.getKernelThreads).to.equal(getKernelThreads);
      setKernelThreads(3);
      expect(getKernelThreads()).to.equal(3);
      setKernelThreads(1);
      expect(getKernelThreads()).to.equal(1);
      for (const bad of [0, -1, 1.5, NaN]) expect(() => setKernelThreads(bad)).to.throw(RangeError);
    });

    it('defaults to min(available cores, 4); LRP_TAPE_THREADS overrides it; a bad value warns and keeps the default', function () {
      const code = `import { getKernelThreads } from './engine/index.js';
        import { availableParallelism } from 'node:os';
        console.log(JSON.stringify({ t: getKernelThreads(), cores: availableParallelism() }));`;
      const dflt = JSON.parse(runChild(code, { LRP_TAPE_THREADS: undefined })) as { t: number; cores: number };
      expect(dflt.t).to.equal(Math.min(dflt.cores, 4));
      expect(JSON.parse(runChild(code, { LRP_TAPE_THREADS: '3' })).t).to.equal(3);
      expect(JSON.parse(runChild(code, { LRP_TAPE_THREADS: '1' })).t).to.equal(1);
      expect(JSON.parse(runChild(code, { LRP_TAPE_THREADS: 'many' })).t).to.equal(dflt.t);
    });

    it('threads = 1 never starts a worker and never splits a call', function () {
      setKernelThreads(1);
      const before = kernelThreadStats();
      const n = 256;
      const rnd = mulberry32(1);
      const A = randomArray(Float32Array, n * n, rnd), B = randomArray(Float32Array, n * n, rnd), C = new Float32Array(n * n);
      gemm(false, false, n, n, n, A, 0, B, 0, C, 0, false);
      expect(kernelThreadStats()).to.deep.equal(before);
      expect(startKernelWorkers()).to.equal(false);
    });

    it('guided chunks cover the units in order, the first T of them large', function () {
      for (const [units, T, min] of [[56, 2, 5], [1024, 2, 32], [7, 3, 1], [3, 4, 1], [100, 4, 10], [1, 2, 1]] as const) {
        const b = guidedBounds(units, T, min);
        expect(b[0]).to.equal(0);
        expect(b[b.length - 1]).to.equal(units);
        for (let i = 1; i < b.length; i++) expect(b[i]!).to.be.greaterThan(b[i - 1]!);
      }
      expect(guidedBounds(56, 2, 5)).to.deep.equal([0, 21, 42, 47, 52, 56]);
    });
  });

  for (const backend of backends) {
    describe(`bit-identical results, ${backend} kernels`, function () {
      // Split products far below the default limits too: more shapes, and small chunks at the edges.
      let limits: ReturnType<typeof setKernelThreadLimits>;
      before(function () {
        limits = setKernelThreadLimits({ gemmWasm: 1 << 16, gemmTs: 1 << 16, convWasm: 1 << 16, convTs: 1 << 16, gemmIntensity: 1 });
      });
      after(function () {
        setKernelThreadLimits(limits);
      });
      beforeEach(function () {
        if (wasmKernelsAvailable()) setKernelBackend(backend);
      });

      for (const threads of [2, 3]) {
        for (const [name, T] of dtypes) {
          it(`gemm, ${threads} threads, ${name}: random shapes, transposes, strides, offsets, accumulate`, function () {
            const rnd = mulberry32(100 + threads + (T === Float64Array ? 7 : 0) + (backend === 'ts' ? 13 : 0));
            // Sizes past the split threshold (2^20 multiply-adds), most not divisible by the chunking.
            // Two past SMALL_JOB_WORK (guided chunks with a tail that any thread may take), the rest T equal chunks.
            const shapes: [number, number, number][] = [
              [260, 333, 211], [61, 1500, 200], [256, 256, 256], [1024, 64, 64], [33, 517, 131], [517, 33, 131], [129, 1001, 17], [97, 70, 300], [300, 129, 41],
            ];
            for (let i = 0; i < (backend === 'ts' ? 4 : 10); i++) {
              shapes.push([33 + Math.floor(rnd() * 300), 65 + Math.floor(rnd() * 300), 16 + Math.floor(rnd() * 200)]);
            }
            let split = 0;
            for (const [M, N, K] of shapes) {
              const combo = Math.floor(rnd() * 16);
              const transA = (combo & 1) !== 0, transB = (combo & 2) !== 0, accumulate = (combo & 4) !== 0, strided = (combo & 8) !== 0;
              const aRows = transA ? K : M, aCols = transA ? M : K;
              const bRows = transB ? N : K, bCols = transB ? K : N;
              const lda = aCols + (strided ? 3 : 0), ldb = bCols + (strided ? 5 : 0), ldc = N + (strided ? 2 : 0);
              const aOff = 1, bOff = 2, cOff = 3;
              const A = randomArray(T, aOff + (aRows - 1) * lda + aCols + 3, rnd);
              const B = randomArray(T, bOff + (bRows - 1) * ldb + bCols + 3, rnd);
              const C0 = randomArray(T, cOff + (M - 1) * ldc + N + 3, rnd);
              const r = bothWays(threads, C0, (C) => gemmStrided(transA, transB, M, N, K, A, aOff, lda, B, bOff, ldb, C, cOff, ldc, accumulate));
              expectSameBits(r.many, r.one, `M=${M} N=${N} K=${K} tA=${transA} tB=${transB} acc=${accumulate} strided=${strided}`);
              split += r.split;
            }
            expect(split, 'no product was split over threads').to.be.greaterThan(shapes.length / 2);
          });
        }
      }

      const convCases: [string, ConvGeometry][] = [
        ['ResNet stage 1, 3x3 pad 1', geom(1, 64, 56, 56, 64, 3, 1, 1, 1, 1)],
        ['stride 2, 7x7 pad 3 (ResNet stem)', geom(1, 3, 112, 112, 32, 7, 2, 3, 1, 1)],
        ['1x1 stride 2 (downsample)', geom(2, 64, 28, 28, 128, 1, 2, 0, 1, 1)],
        ['pointwise 1x1', geom(1, 96, 30, 30, 80, 1, 1, 0, 1, 1)],
        ['batch 3 over 2-3 threads, odd sizes', geom(3, 17, 23, 29, 19, 3, 1, 1, 1, 1)],
        ['dilation 2, padding 2', geom(1, 24, 41, 37, 40, 3, 1, 2, 2, 1)],
        ['large padding', geom(1, 16, 12, 40, 24, 3, 1, 6, 1, 1)],
        ['padding wider than the kernel reaches (output rows that read only padding)', geom(1, 16, 4, 300, 16, 3, 1, 8, 1, 1)],
        ['groups 4', geom(2, 32, 33, 31, 48, 3, 1, 1, 1, 4)],
        ['depthwise', geom(1, 64, 60, 60, 64, 3, 1, 1, 1, 64)],
        ['stride 3, 5x5', geom(1, 20, 70, 70, 30, 5, 3, 2, 1, 1)],
        // More output channels than output pixels: forward and input gradient cut over channels.
        ['deep stage 256->256 on 7x7', geom(1, 256, 7, 7, 256, 3, 1, 1, 1, 1)],
        ['deep stage, stride 2, odd channel counts', geom(1, 131, 14, 14, 197, 3, 2, 1, 1, 1)],
        // Kc * OH * OW beyond the 2M-element column cap: the kernels lower several bands of rows.
        ['several im2col bands', geom(1, 64, 96, 96, 32, 3, 1, 1, 1, 1)],
        ['several bands, stride 2, batch 2', geom(2, 24, 200, 200, 16, 3, 2, 1, 1, 1)],
      ];

      for (const threads of [2, 3]) {
        for (const [name, T] of dtypes) {
          it(`conv2d forward, input and weight gradients, ${threads} threads, ${name}`, function () {
            const rnd = mulberry32(200 + threads + (T === Float64Array ? 7 : 0));
            let split = 0;
            for (const [label, g] of convCases) {
              const x = randomArray(T, g.N * g.C * g.H * g.W, rnd);
              const w = randomArray(T, g.O * (g.C / g.groups) * g.KH * g.KW, rnd);
              const gy = randomArray(T, g.N * g.O * g.OH * g.OW, rnd);
              // Zeros in the upstream gradient (ReLU-like) exercise signed zeros in the sums.
              for (let i = 0; i < gy.length; i += 3) gy[i] = 0;
              const y = bothWays(threads, new T(gy.length).fill(NaN), (out) => conv2dForward(x, w, out, g));
              expectSameBits(y.many, y.one, `${label}: forward`);
              const gx = bothWays(threads, new T(x.length).fill(NaN), (out) => conv2dBackwardInput(gy, w, out, g));
              expectSameBits(gx.many, gx.one, `${label}: input gradient`);
              const gw = bothWays(threads, new T(w.length).fill(NaN), (out) => conv2dBackwardWeight(x, gy, out, g));
              expectSameBits(gw.many, gw.one, `${label}: weight gradient`);
              split += y.split + gx.split + gw.split;
            }
            expect(split, 'too few convolutions were split over threads').to.be.greaterThan(convCases.length);
          });
        }
      }
    });
  }

  describe('resident weights', function () {
    it('cached weights read from the resident arena (from their third use) give the same relevance as one thread, also from an arena too small for all of them', function () {
      const { view, x } = canonizedResNet(3);
      const explain = (): number[] => {
        const rec = attribution.recordForward(view, x);
        const r = rec.attribute(attribution.oneHotSeed(rec.output, [2]), { composite: composites.epsilonPlusFlat() }).relevance;
        return Array.from(r.data as FloatArray);
      };
      setKernelThreads(1);
      const one = explain();
      setKernelThreads(2);
      expect(startKernelWorkers()).to.equal(true);
      const prev = setKernelThreadLimits({ convWasm: 1 << 16, convTs: 1 << 16 });
      try {
        for (const residentBytes of [prev.residentBytes, 1 << 18]) {
          setKernelThreadLimits({ residentBytes });
          for (let round = 0; round < 2; round++) {
            const before = kernelThreadStats();
            const two = explain();
            const after = kernelThreadStats();
            // The first explanation on threads uses each rule weight twice (its forward and its
            // input gradient), both staged; every later one reads the weights from the arena.
            if (residentBytes === prev.residentBytes && round === 0) expect(after.residentConv - before.residentConv, 'a first explanation read resident weights').to.equal(0);
            else expect(after.residentConv - before.residentConv, `no convolution read resident weights (arena ${residentBytes} bytes, round ${round})`).to.be.greaterThan(5);
            const j = one.findIndex((v, k) => !Object.is(v, two[k]));
            if (j >= 0) expect.fail(`arena ${residentBytes} bytes, round ${round}, element ${j}: ${two[j]} on 2 threads, ${one[j]} on 1`);
          }
        }
      } finally {
        setKernelThreadLimits(prev);
      }
    });
  });

  describe('end to end', function () {
    it('an explanation and its double backward are bit-identical on 1 and 2 threads', function () {
      const { model, view, x } = canonizedResNet(1);
      const explain = (): number[][] => {
        const rec = attribution.recordForward(view, x);
        const seed = attribution.oneHotSeed(rec.output, [3]);
        const r = rec.attribute(seed, { composite: composites.epsilonPlusFlat(), createGraph: true }).relevance;
        const grads = engine.grad(engine.sum(engine.mul(r, r)), model.parameters(), { allowUnused: true });
        return [r, ...grads.filter((g) => g !== null)].map((t) => Array.from(t.data as FloatArray));
      };
      setKernelThreads(1);
      const one = explain();
      setKernelThreads(2);
      expect(startKernelWorkers()).to.equal(true);
      const before = kernelThreadStats();
      const two = explain();
      const after = kernelThreadStats();
      expect(after.conv - before.conv, 'no convolution was split').to.be.greaterThan(5);
      expect(two.length).to.equal(one.length);
      for (let i = 0; i < one.length; i++) {
        const j = one[i]!.findIndex((v, k) => !Object.is(v, two[i]![k]));
        if (j >= 0) expect.fail(`tensor ${i}, element ${j}: ${two[i]![j]} on 2 threads, ${one[i]![j]} on 1`);
      }
    });
  });

  describe('planning', function () {
    it('cuts the input gradient on band boundaries when the kernels lower several bands', function () {
      const g = geom(1, 64, 96, 96, 32, 3, 1, 1, 1, 1);
      expect(bandRows(g)).to.be.lessThan(g.OH);
      expect(planConv(BACKWARD_INPUT, g, 2)?.split).to.equal(IN_ROWS);
      expect(planConv(BACKWARD_WEIGHT, g, 2)?.split).to.equal(W_OUT);
      const strided = geom(2, 24, 200, 200, 16, 3, 2, 1, 1, 1);
      expect(bandRows(strided)).to.be.lessThan(strided.OH);
      expect(planConv(BACKWARD_INPUT, strided, 2)?.split).to.equal(IN_ROWS);
      const small = geom(1, 64, 56, 56, 64, 3, 1, 1, 1, 1);
      expect(bandRows(small)).to.equal(small.OH);
      expect(planConv(BACKWARD_WEIGHT, small, 2)?.split).to.equal(W_CHANNELS);
      expect(planConv(FORWARD, geom(1, 3, 4, 4, 8, 3, 1, 1, 1, 1), 2)).to.equal(null);
      expect(planConv(FORWARD, small, 2)?.split).to.equal(OUT_ROWS);
      expect(planConv(BACKWARD_INPUT, small, 2)?.split).to.equal(IN_CHANNELS);
      expect(planConv(BACKWARD_INPUT, geom(1, 3, 224, 224, 64, 7, 2, 3, 1, 1), 2)?.split).to.equal(IN_ROWS);
      const deep = geom(1, 256, 7, 7, 256, 3, 1, 1, 1, 1);
      expect(planConv(FORWARD, deep, 2)?.split).to.equal(OUT_CHANNELS);
      expect(planConv(BACKWARD_INPUT, deep, 2)?.split).to.equal(IN_CHANNELS);
      expect(planConv(BACKWARD_WEIGHT, deep, 2)?.split).to.equal(W_CHANNELS);
    });
  });

  describe('failures', function () {
    before(function () {
      useTestKernelWorker();
    });

    after(function () {
      useTestKernelWorker(false);
    });

    beforeEach(function () {
      setKernelThreads(2);
      expect(startKernelWorkers()).to.equal(true);
    });

    /** A 200^3 GEMM on 2 threads is split once and gives the one-thread bits. */
    function expectSplitGemmWorks(T: Float32ArrayConstructor | Float64ArrayConstructor, transA: boolean, seed: number, what: string): void {
      const n = 200;
      const rnd = mulberry32(seed);
      const A = randomArray(T, n * n, rnd), B = randomArray(T, n * n, rnd);
      const r = bothWays(2, new T(n * n), (C) => gemm(transA, false, n, n, n, A, 0, B, 0, C, 0, false));
      expect(r.split).to.equal(1);
      expectSameBits(r.many, r.one, what);
    }

    it('an error inside a worker surfaces as an Error on the calling thread, and the pool stays usable', function () {
      expect(() => runKernelWorkerTestJob('throw')).to.throw(KernelWorkerError, /test failure requested/);
      expectSplitGemmWorks(Float32Array, false, 3, 'gemm after a worker error');
    });

    it('a worker that never finishes times out with an Error (no hang); the next call starts a new pool', function () {
      const prev = setKernelWorkerTimeout(300);
      try {
        const t0 = Date.now();
        expect(() => runKernelWorkerTestJob('hang')).to.throw(KernelWorkerError, /did not finish/);
        expect(Date.now() - t0).to.be.lessThan(10_000);
      } finally {
        setKernelWorkerTimeout(prev);
      }
      expect(getKernelThreads()).to.equal(2);
      expect(startKernelWorkers()).to.equal(true);
      expectSplitGemmWorks(Float64Array, true, 4, 'gemm on the new pool');
    });

    it('a worker that dies mid-job is noticed at once, its unfinished chunk is computed on the main thread with one warning, and the next call starts a new pool', function () {
      const warnings: string[] = [];
      const onWarning = (w: Error): void => void warnings.push(w.message);
      process.on('warning', onWarning);
      let computed: number[] | null;
      const t0 = Date.now();
      try {
        // Far below the timeout: the death must be seen, not waited out.
        const prev = setKernelWorkerTimeout(60_000);
        try {
          computed = runKernelWorkerExitTestJob(3);
        } finally {
          setKernelWorkerTimeout(prev);
        }
      } catch (e) {
        process.off('warning', onWarning);
        throw e;
      }
      expect(Date.now() - t0).to.be.lessThan(10_000);
      // Chunk 1 was the worker's first: the main thread took 0 and 2 itself, then redid 1.
      expect(computed).to.deep.equal([0, 2, 1]);
      // process.emitWarning delivers on the next tick.
      return new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
        process.off('warning', onWarning);
        const ours = warnings.filter((w) => /kernel worker 1 exited during a test job \(exit\)/.test(w));
        expect(ours).to.have.length(1);
        expect(ours[0]).to.match(/1 unfinished part\(s\) were computed on the main thread/);
        expect(ours[0]).to.not.include('\n');
        expect(getKernelThreads()).to.equal(2);
        expect(startKernelWorkers()).to.equal(true);
        expectSplitGemmWorks(Float32Array, false, 5, 'gemm on the pool started after a worker died');
      });
    });

    it('workers never keep a process alive: a script that used them exits by itself', function () {
      const code = `import { gemm } from './engine/kernels/dispatch.js';
        import { setKernelThreads, startKernelWorkers, kernelThreadStats } from './engine/kernels/parallel/index.js';
        setKernelThreads(2);
        if (!startKernelWorkers()) throw new Error('no workers');
        const n = 300, A = new Float32Array(n * n).fill(1), B = new Float32Array(n * n).fill(2), C = new Float32Array(n * n);
        gemm(false, false, n, n, n, A, 0, B, 0, C, 0, false);
        console.log(JSON.stringify({ c: C[0], split: kernelThreadStats().gemm }));`;
      const t0 = Date.now();
      const out = JSON.parse(runChild(code, {}, 30_000)) as { c: number; split: number };
      expect(out).to.deep.equal({ c: 600, split: 1 });
      expect(Date.now() - t0).to.be.lessThan(30_000);
    });
  });
});

function geom(N: number, C: number, H: number, W: number, O: number, K: number, s: number, p: number, d: number, groups: number): ConvGeometry {
  const OH = Math.floor((H + 2 * p - d * (K - 1) - 1) / s) + 1;
  const OW = Math.floor((W + 2 * p - d * (K - 1) - 1) / s) + 1;
  return { N, C, H, W, O, KH: K, KW: K, OH, OW, strideH: s, strideW: s, padH: p, padW: p, dilH: d, dilW: d, groups };
}
