/**
 * Multi-threaded GEMM and convolution: large products are cut into output tiles that worker
 * threads compute next to the main thread, through shared memory. The files: state.ts (the thread
 * setting, the pool's lifecycle, size limits), gemm-split.ts and conv-split.ts (the two splits),
 * plan.ts (how a call is cut), tiles.ts (running one tile), pool.ts (workers, control blocks, the
 * data buffer), start.ts (how a worker starts), resident.ts (cached weights kept in shared
 * memory), protocol.ts (the shared-memory protocol), worker-loop.ts (the worker's loop), worker.ts and web-worker.ts (its
 * entries under Node and in browsers), backend.ts (the dispatcher's table row).
 *
 * - `setKernelThreads(n)` / `getKernelThreads()`; the environment variable LRP_TAPE_THREADS sets
 *   the starting value. Default: min(os.availableParallelism(), 4) on Node's main thread, 1 inside
 *   worker threads and wherever `worker_threads` is missing (browsers).
 * - The dispatcher tries `gemmParallel` / `convParallel` first (backend.ts is its table row); they
 *   return false (and the rest of the table runs the call on this thread) when the work is too
 *   small to pay for the hand-off, when the pool is still starting, or when the product cannot be
 *   cut into tiles that compute exactly what the whole does. Every split keeps each output element's arithmetic and its order, so results are
 *   bit-identical for any thread count.
 */
export { KernelWorkerError, setKernelWorkerTimeout } from './pool.js';
export { FORWARD, BACKWARD_INPUT, BACKWARD_WEIGHT, type ConvKind, type ConvFn, type GemmFn } from './tiles.js';
export {
  setKernelThreads, getKernelThreads, kernelThreadsDisabledReason, kernelThreadsActive, startKernelWorkers, startKernelWorkersAsync, setKernelThreadLimits, kernelThreadStats,
  noThreadsReason,
} from './state.js';
export { setKernelWorkerUrl } from './web.js';
export { gemmParallel } from './gemm-split.js';
export { convParallel } from './conv-split.js';
