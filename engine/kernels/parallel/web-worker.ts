/**
 * Entry module of a kernel worker in a browser (`lrp-tape/kernel-worker`): bundle it as its own
 * file and hand its URL to `setKernelWorkerUrl`. The pool's first message carries the worker's
 * control block and port; buffer messages arrive on that port as message events, which a worker
 * blocked in Atomics.wait only sees after going back to its event loop (worker-loop.ts).
 */
import type { BufferMessage, WorkerInit } from './protocol.js';
import { serveKernelJobs } from './worker-loop.js';

interface Port {
  onmessage: ((event: { data: unknown }) => void) | null;
}

interface WorkerScope {
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void, options: { once: boolean }): void;
}

(globalThis as unknown as WorkerScope).addEventListener(
  'message',
  (event) => {
    const init = (event.data as { lrpTapeKernelInit?: WorkerInit } | null)?.lrpTapeKernelInit;
    if (!init) return;
    const queue: BufferMessage[] = [];
    let wake: (() => void) | null = null;
    (init.port as Port).onmessage = (m) => {
      queue.push(m.data as BufferMessage);
      const w = wake;
      wake = null;
      w?.();
    };
    void serveKernelJobs(init, {
      take: () => queue.shift(),
      wait: () => new Promise<void>((resolve) => {
        wake = resolve;
      }),
    });
  },
  { once: true },
);
