// Runs inside a dedicated Web Worker of the test page: the scenario on one thread, then on two
// kernel threads (nested Web Workers), and posts both results with the kernel status.
import * as lib from '../../../index.js';
import { kernelThreadStats, setKernelThreadLimits } from '../../../engine/kernels/parallel/index.js';
import { scenario } from '../scenario.mjs';

interface Scope {
  postMessage(message: unknown): void;
  location: { href: string };
}
const scope = globalThis as unknown as Scope;

async function main(): Promise<unknown> {
  await lib.ready();
  const single = scenario(lib);
  const before = lib.kernelStatus();
  lib.engine.setKernelWorkerUrl(new URL('kernel-worker.js', scope.location.href).href);
  // Split even the scenario's small products, so the two-thread run really uses the workers.
  setKernelThreadLimits({ gemmWasm: 1, gemmTs: 1, convWasm: 1, convTs: 1, gemmIntensity: 0 });
  lib.engine.setKernelThreads(2);
  const started = await lib.engine.startKernelWorkersAsync(30_000);
  const after = lib.kernelStatus();
  const splitBefore = kernelThreadStats();
  const threaded = scenario(lib);
  const splitAfter = kernelThreadStats();
  return {
    single, threaded, before, after, started,
    splits: splitAfter.gemm + splitAfter.conv - splitBefore.gemm - splitBefore.conv,
  };
}

main().then(
  (r) => scope.postMessage(r),
  (e: unknown) => scope.postMessage({ error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) }),
);
