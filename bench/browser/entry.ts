/**
 * The browser side of `npm run bench:browser`: the same resnet18-lrp workload as bench/workloads.ts
 * (seeded ResNet-18, seeded input, the ResNet canonizer, epsilon_plus_flat for the predicted class,
 * forward recording included), timed with performance.now(). Runs on the page's main thread, or
 * (`?worker=1`) inside a dedicated Web Worker started by the page, where `?threads=N` adds kernel
 * threads (nested workers running kernel-worker.js). Imports the library's root entry as a browser
 * bundle would. `?workload=resnet18-forward` or `gemm-1024` times those instead (as in
 * bench/workloads.ts); `?relaxed=0` switches to the plain SIMD kernels first (relaxed SIMD is
 * Chromium's default).
 */
import { engine as E, models, canonizers, composites, attribution, ready } from '../../index.js';

interface BenchResult {
  backend: string;
  wasmVariant: string | null;
  threads: number;
  warmup: number;
  runs: number[];
}

async function main(): Promise<BenchResult> {
  const params = new URLSearchParams(location.search);
  const warmup = Number(params.get('warmup') ?? 3);
  const runs = Number(params.get('runs') ?? 9);
  const threads = Number(params.get('threads') ?? 1);
  await ready();
  if (params.get('relaxed') === '0') E.setWasmRelaxedSimd(false);
  await ready();
  if (threads > 1) {
    E.setKernelWorkerUrl(new URL('kernel-worker.js', location.href).href);
    E.setKernelThreads(threads);
    await E.startKernelWorkersAsync(60_000);
  }
  const status = await ready();
  const once = workload(params.get('workload') ?? 'resnet18-lrp');
  for (let i = 0; i < warmup; i++) once();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    once();
    times.push(performance.now() - t0);
  }
  return { backend: status.backend, wasmVariant: status.wasmVariant, threads: status.threads, warmup, runs: times };
}

function workload(name: string): () => void {
  if (name === 'gemm-1024') {
    const rng = new E.Rng(1024);
    const a = E.randn([1024, 1024], { dtype: 'float32', rng });
    const b = E.randn([1024, 1024], { dtype: 'float32', rng });
    return () => void E.matmul(a, b);
  }
  const model = models.resnet18({ rng: new E.Rng(18) });
  model.eval();
  const x = E.randn([1, 3, 224, 224], { dtype: 'float32', rng: new E.Rng(224) });
  if (name === 'resnet18-forward') return () => void E.noGrad(() => model.call(x));
  if (name !== 'resnet18-lrp') throw new Error(`unknown workload '${name}' (resnet18-lrp, resnet18-forward, gemm-1024)`);
  const view = canonizers.canonize(model, [canonizers.resnetCanonizer()]);
  const composite = composites.epsilonPlusFlat();
  return () => {
    const rec = attribution.recordForward(view, x);
    const seed = attribution.oneHotSeed(rec.output, [E.argmax(rec.output, 1).data[0]!]);
    rec.attribute(seed, { composite });
  };
}

interface Scope {
  location: { search: string; href: string };
  importScripts?: unknown;
  postMessage?(message: unknown): void;
  Worker?: new (url: string, options: { type: 'module' }) => { onmessage: ((e: { data: unknown }) => void) | null };
}
const scope = globalThis as unknown as Scope;
const location = scope.location;
const inWorker = typeof scope.importScripts !== 'undefined';
const report = (r: unknown): void => {
  if (inWorker) scope.postMessage!(r);
  else (globalThis as { __bench?: unknown }).__bench = r;
};

if (!inWorker && new URLSearchParams(location.search).get('worker') === '1') {
  // The page: run this same bundle as a module worker and keep its answer.
  const worker = new scope.Worker!(`bench.js${location.search}`, { type: 'module' });
  worker.onmessage = (e) => report(e.data);
} else {
  main().then(report, (e: unknown) => report({ error: String(e) }));
}
