/**
 * Kernel threads in browsers: an adapter that gives the pool (pool.ts) Web Workers in the shape of
 * the slice of node:worker_threads it uses (worker-threads.ts). The pool blocks its calling thread
 * in Atomics.wait while the workers compute, which a page's main thread may not do; so threads run
 * where the library itself runs inside a dedicated Web Worker on a cross-origin-isolated page
 * (SharedArrayBuffer), with the URL of the kernel worker's bundle (web-worker.ts, bundled by the
 * user) given through `setKernelWorkerUrl`. Anywhere else `webThreadsUnavailableReason()` says why.
 */
import type { PortLike, WorkerLike, WorkerOptionsLike, WorkerThreadsLike } from './worker-threads.js';

interface WebWorker {
  postMessage(message: unknown, transfer: unknown[]): void;
  addEventListener(type: 'error' | 'messageerror', listener: (event: { message?: string }) => void): void;
  terminate(): void;
}

interface WebGlobals {
  Worker?: new (url: string, options: { type: 'module'; name: string }) => WebWorker;
  MessageChannel?: new () => { port1: PortLike; port2: PortLike };
  crossOriginIsolated?: boolean;
  importScripts?: unknown;
  process?: { versions?: { node?: string } };
}

const g = globalThis as WebGlobals;

let workerUrl: string | null = null;

/**
 * The URL of the kernel worker module for browsers: the package's `lrp-tape/kernel-worker` entry
 * (engine/kernels/parallel/web-worker.ts) bundled as its own file. Call it, then
 * `setKernelThreads(n)` and `await startKernelWorkersAsync()`, inside a dedicated Web Worker of a
 * cross-origin-isolated page. `null` forgets it.
 */
export function setKernelWorkerUrl(url: string | { href: string } | null): void {
  workerUrl = url === null ? null : typeof url === 'string' ? url : url.href;
}

/** Why this runtime cannot run browser kernel threads now, or null when it can. */
export function webThreadsUnavailableReason(): string | null {
  if (g.process?.versions?.node) return 'not a browser';
  if (typeof g.Worker !== 'function' || typeof g.MessageChannel !== 'function') return 'this runtime has no Web Workers';
  if (typeof SharedArrayBuffer !== 'function' || g.crossOriginIsolated !== true) {
    return 'the page is not cross-origin isolated (serve it with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp), so there is no SharedArrayBuffer';
  }
  if (typeof g.importScripts === 'undefined') {
    return "a page's main thread may not block in Atomics.wait: run lrp-tape inside a dedicated Web Worker for kernel threads";
  }
  if (workerUrl === null) return 'no kernel worker URL: call setKernelWorkerUrl(url) with the bundled lrp-tape/kernel-worker module';
  return null;
}

class WebKernelWorker implements WorkerLike {
  private readonly worker: WebWorker;
  private readonly errorListeners: Array<(err: unknown) => void> = [];

  constructor(url: string, options: WorkerOptionsLike) {
    this.worker = new g.Worker!(url, { type: 'module', name: options.name });
    const report = (e: { message?: string }): void => {
      for (const l of this.errorListeners) l(new Error(e.message ?? `could not load the kernel worker ${url}`));
    };
    this.worker.addEventListener('error', report);
    this.worker.addEventListener('messageerror', report);
    this.worker.postMessage({ lrpTapeKernelInit: options.workerData }, options.transferList);
  }

  on(event: 'error' | 'exit', listener: ((err: unknown) => void) | ((code: number) => void)): unknown {
    // A Web Worker has no exit event: one that dies is noticed through 'error' or the pool's timeout.
    if (event === 'error') this.errorListeners.push(listener as (err: unknown) => void);
    return this;
  }

  unref(): void {
    // Web Workers never keep a page alive.
  }

  terminate(): Promise<number> {
    this.worker.terminate();
    return Promise.resolve(0);
  }
}

/** The adapter, or null where browser kernel threads cannot run (see webThreadsUnavailableReason). */
export function webWorkerThreads(): WorkerThreadsLike | null {
  if (webThreadsUnavailableReason() !== null) return null;
  const url = workerUrl!;
  const Channel = g.MessageChannel!;
  return {
    isMainThread: true,
    Worker: class extends WebKernelWorker {
      constructor(_source: string, options: WorkerOptionsLike) {
        super(url, options);
      }
    },
    MessageChannel: class {
      readonly port1: PortLike;
      readonly port2: PortLike;
      constructor() {
        const ch = new Channel();
        // Browser ports have no unref (nothing to keep alive); the pool calls it on Node's.
        for (const p of [ch.port1, ch.port2] as Array<PortLike & { unref?: () => void }>) p.unref ??= () => {};
        this.port1 = ch.port1;
        this.port2 = ch.port2;
      }
    },
  };
}
