/**
 * The main thread's side of the failing jobs: posted to every worker of a pool started from
 * kernel-test-worker.ts, waited for like a kernel call.
 */
import { setKernelWorkerEntry, usablePool } from '../../engine/kernels/parallel/state.js';
import { OP_EXIT, OP_HANG, OP_THROW } from './kernel-test-ops.js';

/** Starts the pools from now on from the specs' worker (null: the shipped one again). */
export function useTestKernelWorker(on = true): void {
  setKernelWorkerEntry(on ? new URL('./kernel-test-worker.ts', import.meta.url).href : null);
}

/**
 * Posts a job that throws ('throw') or never finishes ('hang') to every worker and waits like a
 * kernel call does. Returns false when the pool is not ready.
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
 * `chunks` chunks like a kernel call. Returns the chunks the main thread computed, in order (all of
 * them when the workers died), or null when the pool is not ready.
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
