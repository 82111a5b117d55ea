/**
 * Multi-threaded GEMM and convolution: large products are cut into output tiles that worker
 * threads compute next to the main thread, through shared memory. The files: state.ts (the thread
 * setting, the pool's lifecycle, size limits), gemm-split.ts and conv-split.ts (the two splits),
 * plan.ts (how a call is cut), tiles.ts (running one tile), pool.ts (workers, control blocks, the
 * data buffer), resident.ts (cached weights kept in shared memory), protocol.ts (the
 * shared-memory protocol), worker.ts (the worker's loop).
 *
 * - `setKernelThreads(n)` / `getKernelThreads()`; the environment variable LRP_TAPE_THREADS sets
 *   the starting value. Default: min(os.availableParallelism(), 4) on Node's main thread, 1 inside
 *   worker threads and wherever `worker_threads` is missing (browsers).
 * - gemm.ts and conv.ts call `gemmParallel` / `convParallel` first; they return false (and the
 *   single-threaded kernel runs) when the work is too small to pay for the hand-off, when the pool
 *   is still starting, or when the product cannot be cut into tiles that compute exactly what the
 *   whole does. Every split keeps each output element's arithmetic and its order, so results are
 *   bit-identical for any thread count.
 */
import { OP_EXIT, OP_HANG, OP_THROW } from './protocol.js';
import { KernelWorkerError, setKernelWorkerTimeout } from './pool.js';
import { usablePool } from './state.js';

export { KernelWorkerError, setKernelWorkerTimeout };
export { FORWARD, BACKWARD_INPUT, BACKWARD_WEIGHT, type ConvKind, type ConvFn, type GemmFn } from './tiles.js';
export {
  setKernelThreads, getKernelThreads, kernelThreadsDisabledReason, kernelThreadsActive, startKernelWorkers, startKernelWorkersAsync, setKernelThreadLimits, kernelThreadStats,
  noThreadsReason,
} from './state.js';
export { setKernelWorkerUrl } from './web.js';
export { gemmParallel } from './gemm-split.js';
export { convParallel } from './conv-split.js';

// ---------------------------------------------------------------------------------------------
// Test hooks

/**
 * Posts a job that throws ('throw') or never finishes ('hang') to every worker and waits like a
 * kernel call does: for specs of the error paths. Returns false when the pool is not ready.
 */
export function runKernelWorkerTestJob(kind: 'throw' | 'hang'): boolean {
  const p = usablePool(false);
  if (p === null) return false;
  p.busy = true;
  try {
    p.runChunks([0, 1], () => {}, (w) => p.post(w, kind === 'throw' ? OP_THROW : OP_HANG, false, false, () => {}), () => {}, `test job (${kind})`);
  } finally {
    p.busy = false;
  }
  return true;
}

/**
 * Posts a job to every worker that makes it exit at once (as a killed worker would) and runs
 * `chunks` chunks like a kernel call: for specs of the recovery. Returns the chunks the main thread
 * computed, in order (all of them when the workers died), or null when the pool is not ready.
 */
export function runKernelWorkerExitTestJob(chunks: number): number[] | null {
  const p = usablePool(false);
  if (p === null) return null;
  const bounds = Array.from({ length: chunks + 1 }, (_, c) => c);
  const computed: number[] = [];
  p.busy = true;
  try {
    p.runChunks(bounds, () => {}, (w) => p.post(w, OP_EXIT, false, false, () => {}), (lo) => computed.push(lo), 'test job (exit)');
  } finally {
    p.busy = false;
  }
  return computed;
}
