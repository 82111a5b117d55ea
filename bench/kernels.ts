/**
 * GFLOP/s of the engine's kernels (engine/kernels/dispatch.ts: GEMM, convolutions) against the
 * reference oracle (spec/support/kernel-reference.ts); the fast kernels run on the TypeScript and/or the WebAssembly SIMD
 * kernel set (engine/kernels/wasm/), on the engine's kernel threads (engine/kernels/parallel/:
 * --threads N, default the engine's default; the reference is always single-threaded).
 *
 *   node --import tsx bench/kernels.ts [--quick] [--runs N] [--reference-max 512] [--f64] [--json]
 *                                      [--backends ts,wasm] [--threads N]
 *
 * runKernelBench() returns the same numbers for bench/run.ts to fold into its report; by default
 * it times the kernel set in use (getKernelBackend()), the command line times both.
 */
import { fileURLToPath } from 'node:url';
import {
  gemm,
  getKernelBackend,
  setKernelBackend,
  conv2dForward,
  conv2dBackwardInput,
  conv2dBackwardWeight,
  type ConvGeometry,
  type FloatArray,
  type KernelBackend,
} from '../engine/kernels/dispatch.js';
import { wasmKernelsAvailable } from '../engine/kernels/wasm/index.js';
import { getKernelThreads, setKernelThreads, startKernelWorkers } from '../engine/kernels/parallel/index.js';
import {
  gemmReference,
  conv2dForwardReference,
  conv2dBackwardInputReference,
  conv2dBackwardWeightReference,
} from '../spec/support/kernel-reference.js';

export interface KernelBenchOptions {
  /** Square GEMM sizes, float32. Default [256, 512, 1024]. */
  gemmSizes?: number[];
  /** Timed runs per case after the warm-up; the median is reported. Default 5 (minimum 1). */
  runs?: number;
  /** Untimed runs before timing, so V8 has optimised the kernel. Default 2. */
  warmup?: number;
  /** The reference GEMM runs only up to this size (it takes seconds at 1024). Default 512. */
  referenceMaxSize?: number;
  /** Also time the reference convolutions. Default true. */
  referenceConv?: boolean;
  /** Element types to time. Default ['float32']. */
  dtypes?: ('float32' | 'float64')[];
  /** Progress lines go here; default silent. */
  log?: (line: string) => void;
  /**
   * Kernel sets to time the fast kernels on, each its own 'fast' row (tagged `backend`). Default:
   * the one in use, getKernelBackend(). 'wasm' is skipped when the WebAssembly kernels are not loaded.
   */
  backends?: KernelBackend[];
}

export interface KernelBenchResult {
  /** 'gemm' or 'conv2d-forward' | 'conv2d-backward-input' | 'conv2d-backward-weight'. */
  op: string;
  impl: 'fast' | 'reference';
  dtype: 'float32' | 'float64';
  /** Human-readable problem size, e.g. '1024x1024x1024' or '1x64x56x56 64->64 3x3 pad 1'. */
  shape: string;
  flops: number;
  medianMs: number;
  minMs: number;
  runs: number;
  gflops: number;
  /** Which kernel set ran a 'fast' row: 'ts' (TypeScript) or 'wasm' (WebAssembly SIMD). */
  backend?: KernelBackend;
}

function time(fn: () => void, warmup: number, runs: number): { median: number; min: number } {
  for (let i = 0; i < warmup; i++) fn();
  const ts: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    ts.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  ts.sort((a, b) => a - b);
  const mid = ts.length >> 1;
  const median = ts.length % 2 ? ts[mid]! : (ts[mid - 1]! + ts[mid]!) / 2;
  return { median, min: ts[0]! };
}

/** Deterministic fill in [-1, 1); the values only need to be non-trivial, not random. */
function filled(dtype: 'float32' | 'float64', n: number, seed: number): FloatArray {
  const a = dtype === 'float32' ? new Float32Array(n) : new Float64Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 2147483648 - 1;
  }
  return a;
}

export function runKernelBench(options: KernelBenchOptions = {}): KernelBenchResult[] {
  const sizes = options.gemmSizes ?? [256, 512, 1024];
  const runs = Math.max(1, options.runs ?? 5);
  const warmup = Math.max(0, options.warmup ?? 2);
  const refMax = options.referenceMaxSize ?? 512;
  const refConv = options.referenceConv ?? true;
  const log = options.log ?? (() => {});
  const results: KernelBenchResult[] = [];
  const inUse = getKernelBackend();
  const backends = (options.backends ?? [inUse]).filter((b, i, all) => all.indexOf(b) === i);
  for (const b of backends) if (b === 'wasm' && !wasmKernelsAvailable()) log('wasm kernels not loaded: timing the TypeScript kernels only');
  const fastBackends = backends.filter((b) => b === 'ts' || wasmKernelsAvailable());

  const record = (dtype: 'float32' | 'float64', op: string, impl: 'fast' | 'reference', shape: string, flops: number, fn: () => void) => {
    for (const backend of impl === 'fast' ? fastBackends : [undefined]) {
      if (backend !== undefined) setKernelBackend(backend);
      let timed: { median: number; min: number };
      try {
        timed = time(fn, warmup, runs);
      } finally {
        if (backend !== undefined && wasmKernelsAvailable()) setKernelBackend(inUse);
      }
      const { median, min } = timed;
      const r: KernelBenchResult = { op, impl, dtype, shape, flops, medianMs: median, minMs: min, runs, gflops: flops / median / 1e6 };
      if (backend !== undefined) r.backend = backend;
      results.push(r);
      const label = backend === undefined ? impl : `${impl}/${backend}`;
      log(`${dtype} ${op.padEnd(24)} ${label.padEnd(9)} ${shape.padEnd(30)} ${r.gflops.toFixed(2).padStart(6)} GFLOP/s  (median ${median.toFixed(1)} ms)`);
    }
  };

  for (const dtype of options.dtypes ?? ['float32']) {
    for (const n of sizes) {
      const A = filled(dtype, n * n, 1);
      const B = filled(dtype, n * n, 2);
      const C = filled(dtype, n * n, 0);
      const shape = `${n}x${n}x${n}`;
      record(dtype, 'gemm', 'fast', shape, 2 * n * n * n, () => gemm(false, false, n, n, n, A, 0, B, 0, C, 0, false));
      if (n <= refMax) {
        record(dtype, 'gemm', 'reference', shape, 2 * n * n * n, () => gemmReference(false, false, n, n, n, A, 0, B, 0, C, 0, false));
      }
    }

    // A ResNet stage-1 3x3 convolution.
    const g: ConvGeometry = {
      N: 1, C: 64, H: 56, W: 56, O: 64, KH: 3, KW: 3, OH: 56, OW: 56,
      strideH: 1, strideW: 1, padH: 1, padW: 1, dilH: 1, dilW: 1, groups: 1,
    };
    const shape = '1x64x56x56 64->64 3x3 pad 1';
    const flops = 2 * g.N * g.O * (g.C / g.groups) * g.KH * g.KW * g.OH * g.OW;
    const x = filled(dtype, g.N * g.C * g.H * g.W, 3);
    const w = filled(dtype, g.O * g.C * g.KH * g.KW, 4);
    const gy = filled(dtype, g.N * g.O * g.OH * g.OW, 5);
    const y = filled(dtype, gy.length, 0);
    const gx = filled(dtype, x.length, 0);
    const gw = filled(dtype, w.length, 0);
    const convs: [string, () => void, () => void][] = [
      ['conv2d-forward', () => conv2dForward(x, w, y, g), () => conv2dForwardReference(x, w, y, g)],
      ['conv2d-backward-input', () => conv2dBackwardInput(gy, w, gx, g), () => conv2dBackwardInputReference(gy, w, gx, g)],
      ['conv2d-backward-weight', () => conv2dBackwardWeight(x, gy, gw, g), () => conv2dBackwardWeightReference(x, gy, gw, g)],
    ];
    for (const [op, fast, ref] of convs) {
      record(dtype, op, 'fast', shape, flops, fast);
      if (refConv) record(dtype, op, 'reference', shape, flops, ref);
    }
  }
  return results;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const arg = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const quick = args.includes('--quick');
  const f64 = args.includes('--f64');
  const json = args.includes('--json');
  const backendsArg = arg('--backends');
  const backends = (backendsArg ?? 'ts,wasm').split(',').map((b) => b.trim()) as KernelBackend[];
  for (const b of backends) if (b !== 'ts' && b !== 'wasm') throw new Error(`--backends: unknown kernel set '${b}' (ts, wasm)`);
  if (arg('--threads') !== undefined) setKernelThreads(Number(arg('--threads')));
  // Workers start in the background at the first large call; wait for them so every run is threaded.
  startKernelWorkers();
  if (!json) console.log(`kernel threads: ${getKernelThreads()}`);
  const results = runKernelBench({
    backends,
    gemmSizes: quick ? [256, 512] : undefined,
    runs: arg('--runs') !== undefined ? Number(arg('--runs')) : quick ? 3 : 5,
    referenceMaxSize: arg('--reference-max') !== undefined ? Number(arg('--reference-max')) : undefined,
    dtypes: f64 ? ['float32', 'float64'] : undefined,
    log: json ? undefined : (line) => console.log(line),
  });
  if (json) console.log(JSON.stringify(results, null, 2));
  else {
    const speedups = results
      .filter((r) => r.impl === 'fast')
      .map((f) => [f, results.find((r) => r.impl === 'reference' && r.dtype === f.dtype && r.op === f.op && r.shape === f.shape)] as const)
      .filter(([, r]) => r !== undefined)
      .map(([f, r]) => `${f.dtype} ${f.op} ${f.shape}${f.backend ? ` (${f.backend})` : ''}: ${(f.gflops / r!.gflops).toFixed(1)}x`);
    console.log(`\nspeed-up over reference: ${speedups.join('; ')}`);
    // One line per problem with a column per kernel set (GFLOP/s of the median run).
    const keys = [...new Set(results.map((r) => `${r.dtype}|${r.op}|${r.shape}`))];
    const cell = (v: KernelBenchResult | undefined) => (v ? v.gflops.toFixed(2) : '-').padStart(9);
    console.log(`\n${'dtype'.padEnd(8)} ${'op'.padEnd(23)} ${'shape'.padEnd(28)} ${'reference'.padStart(9)} ${'ts'.padStart(9)} ${'wasm'.padStart(9)}  (GFLOP/s)`);
    for (const key of keys) {
      const [dtype, op, shape] = key.split('|') as [string, string, string];
      const pick = (impl: string, backend?: string) =>
        results.find((r) => r.dtype === dtype && r.op === op && r.shape === shape && r.impl === impl && r.backend === backend);
      console.log(`${dtype.padEnd(8)} ${op.padEnd(23)} ${shape.padEnd(28)} ${cell(pick('reference'))} ${cell(pick('fast', 'ts'))} ${cell(pick('fast', 'wasm'))}`);
    }
  }
}
