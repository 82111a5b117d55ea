/**
 * How a kernel worker starts: which worker_threads module (Node's, or the Web Worker adapter in
 * web.ts), how many cores, which entry module, and the bootstrap script that loads it (with the
 * TypeScript loader when running from source).
 */
import type { WorkerThreadsLike } from './worker-threads.js';
import { CONTROL_BYTES } from './protocol.js';
import { webWorkerThreads } from './web.js';

type WT = WorkerThreadsLike;

interface NodeProcess {
  versions?: { node?: string };
  env?: Record<string, string | undefined>;
  getBuiltinModule?: (id: string) => unknown;
  emitWarning?: (message: string) => void;
}

const proc = (globalThis as { process?: NodeProcess }).process;

/**
 * node:worker_threads; in a browser the Web Worker adapter (web.ts) where it can run; else null
 * (Node < 20.16, a page's main thread, a page that is not cross-origin isolated, ...).
 */
export function workerThreadsModule(): WT | null {
  if (!proc?.versions?.node || typeof proc.getBuiltinModule !== 'function') return webWorkerThreads();
  try {
    const wt = proc.getBuiltinModule('node:worker_threads') as WT | undefined;
    return wt && typeof wt.Worker === 'function' && typeof SharedArrayBuffer === 'function' ? wt : null;
  } catch {
    return null;
  }
}

export function availableCores(): number {
  const browserCores = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency;
  if (!proc?.versions?.node && typeof browserCores === 'number' && browserCores > 0) return browserCores;
  try {
    const os = proc?.getBuiltinModule?.('node:os') as { availableParallelism?: () => number; cpus(): unknown[] } | undefined;
    if (!os) return 1;
    return Math.max(1, os.availableParallelism ? os.availableParallelism() : os.cpus().length);
  } catch {
    return 1;
  }
}

let entryOverride: string | null = null;

/**
 * Another entry module for the Node workers of pools started from now on (null: the shipped one).
 * For the specs' worker, which serves jobs that fail on purpose besides the real ones
 * (spec/support/kernel-test-worker.ts); state.ts's setKernelWorkerEntry also restarts the pool.
 */
export function setWorkerEntry(url: string | null): void {
  entryOverride = url;
}

/** The worker entry module next to this one: worker.ts when running from source, worker.js when built. */
export function workerEntry(): { entry: string; tsx: string | null } {
  const here = import.meta.url;
  const ts = /\.ts$/.test(new URL(here).pathname);
  const entry = entryOverride ?? new URL(ts ? './worker.ts' : './worker.js', here).href;
  let tsx: string | null = null;
  if (ts) {
    // Source runs need a TypeScript loader in the worker too; tsx (a dependency of this package)
    // registers its hooks only on the main thread, so the worker registers them itself.
    // The ESM build of tsx/esm/api, found through tsx's package.json: import.meta.resolve is
    // missing where a loader turns this module into CommonJS (mocha's specs under tsx), and
    // require.resolve would pick the CommonJS build, which cannot register from a worker.
    try {
      const mod = proc!.getBuiltinModule!('node:module') as { createRequire(from: string): { resolve(id: string): string } };
      const fs = proc!.getBuiltinModule!('node:fs') as { readFileSync(path: string, enc: 'utf8'): string };
      const url = proc!.getBuiltinModule!('node:url') as { pathToFileURL(path: string): URL };
      const pkgPath = mod.createRequire(here).resolve('tsx/package.json');
      const pkg = JSON.parse(fs.readFileSync(pkgPath, 'utf8')) as { exports?: Record<string, { import?: { default?: string } | string }> };
      const api = pkg.exports?.['./esm/api'];
      const rel = typeof api === 'object' ? (typeof api.import === 'string' ? api.import : api.import?.default) : undefined;
      if (rel) tsx = new URL(rel, url.pathToFileURL(pkgPath)).href;
    } catch {
      tsx = null;
    }
  }
  return { entry, tsx };
}

/**
 * Runs in the worker as a CommonJS script: registers the TypeScript loader when needed, then
 * imports the entry module, which parks in its job loop. A failure to load is reported through the
 * control block (the main thread never waits on events).
 */
export const BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
(async () => {
  if (workerData.tsx) (await import(workerData.tsx)).register();
  await import(workerData.entry);
})().catch((e) => {
  try {
    const control = new Int32Array(workerData.control);
    const bytes = new Uint8Array(workerData.control);
    const text = new TextEncoder().encode(String((e && e.stack) || e)).subarray(0, ${CONTROL_BYTES - 64 * 4});
    bytes.set(text, ${64 * 4});
    control[5] = text.length;
    Atomics.store(control, 0, 2);
    Atomics.notify(control, 0);
  } catch {}
});
`;

