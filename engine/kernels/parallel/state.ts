/**
 * The thread setting, the worker pool's lifecycle, the size limits above which a call is split,
 * and the shared-memory helpers the GEMM and convolution splits (gemm-split.ts, conv-split.ts)
 * have in common.
 */
import type { FloatArray } from '../types.js';
import { Pool } from './pool.js';
import { workerThreadsModule, availableCores, setWorkerEntry } from './start.js';
import { RESIDENT_BYTES } from './resident.js';
import { webThreadsUnavailableReason } from './web.js';
import { wasmVariant } from '../wasm/index.js';

// ---------------------------------------------------------------------------------------------
// Thread count

const MAX_THREADS = 64;

function defaultThreads(): number {
  const wt = workerThreadsModule();
  if (!wt || !wt.isMainThread) return 1;
  return Math.min(availableCores(), 4);
}

function readEnvThreads(): number | null {
  const raw = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.LRP_TAPE_THREADS;
  if (raw === undefined || raw.trim() === '') return null;
  const n = Number(raw.trim());
  if (!Number.isInteger(n) || n < 1) {
    warnOnce(`LRP_TAPE_THREADS=${raw} is not a positive integer; using the default thread count`);
    return null;
  }
  return Math.min(n, MAX_THREADS);
}

const warned = new Set<string>();
let requested = readEnvThreads() ?? defaultThreads();
let pool: Pool | null = null;
/** Why threads are off for this process despite the setting (a worker could not start). */
let disabled: string | null = null;

/**
 * Threads for large GEMMs and convolutions, the calling thread included: 1 runs everything on the
 * calling thread. Where `worker_threads` is unavailable any value behaves as 1. Takes effect at the
 * next kernel call. Workers already started stay parked (no CPU) while the setting is 1 and are
 * used again when it returns to their number; another number > 1 replaces them.
 */
export function setKernelThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`setKernelThreads: expected a positive integer, got ${String(n)}`);
  const next = Math.min(n, MAX_THREADS);
  if (next > 1 && pool !== null && pool.size !== next - 1) {
    pool.shutdown();
    pool = null;
  }
  requested = next;
  disabled = null;
}

/**
 * Starts later Node workers from another entry module (null: the shipped worker.ts); the current
 * pool is shut down, so the next large call starts one from it. For specs of the failure paths.
 */
export function setKernelWorkerEntry(url: string | null): void {
  setWorkerEntry(url);
  pool?.shutdown();
  pool = null;
}

/** The thread count kernels use: the setting, or 1 where worker threads are unavailable or failed to start. */
export function getKernelThreads(): number {
  if (requested <= 1 || disabled !== null || !workerThreadsModule()) return 1;
  return requested;
}

/** Why the kernels run single-threaded despite `setKernelThreads(n > 1)`, or null. */
export function kernelThreadsDisabledReason(): string | null {
  if (requested > 1 && !workerThreadsModule()) return noThreadsReason();
  return disabled;
}

/** Why this runtime has no kernel threads at all, or null when it has them. */
export function noThreadsReason(): string | null {
  if (workerThreadsModule()) return null;
  const proc = (globalThis as { process?: { versions?: { node?: string } } }).process;
  if (proc?.versions?.node) return 'kernel threads need node:worker_threads and SharedArrayBuffer (Node >= 20.16)';
  return `no kernel threads in this browser context: ${webThreadsUnavailableReason() ?? 'unknown'}`;
}

/** Hot-path check for gemm.ts / conv.ts: more than one thread and not already inside a split call. */
export function kernelThreadsActive(): boolean {
  return requested > 1 && disabled === null && !(pool?.busy ?? false);
}

function warnOnce(message: string): void {
  if (warned.has(message)) return;
  warned.add(message);
  const p = (globalThis as { process?: { emitWarning?: (m: string) => void } }).process;
  p?.emitWarning?.(`lrp-tape: ${message}`);
}

/** The pool when it is ready for a job of this kernel set; starts it (without waiting) when missing. */
export function usablePool(wasm: boolean): Pool | null {
  if (pool === null) {
    const wt = workerThreadsModule();
    if (!wt) return null;
    try {
      pool = new Pool(requested - 1, wt);
    } catch (e) {
      disable(`could not start kernel workers: ${e instanceof Error ? e.message : String(e)}`);
      return null;
    }
    return null;
  }
  if (!pool.ready()) {
    if (pool.failure !== null) {
      const failure = pool.failure;
      pool.shutdown();
      pool = null;
      // A worker that could not load will not load next time either; one that died mid-job gets a fresh pool.
      if (/could not start/.test(failure)) disable(failure);
    }
    return null;
  }
  if (wasm && !pool.workersHaveWasm(wasmVariant())) return null;
  return pool;
}

function disable(reason: string): void {
  disabled = reason;
  warnOnce(`kernels run single-threaded: ${reason}`);
}

/**
 * Starts the worker pool (if threads > 1) and blocks until it is ready, at most timeoutMs. Kernel
 * calls never wait for workers to start (the first large calls of a process run single-threaded
 * while they load); benchmarks and specs call this to measure or test the threaded path from the
 * first call. Returns whether the pool is ready.
 */
export function startKernelWorkers(timeoutMs = 60_000): boolean {
  if (getKernelThreads() <= 1) return false;
  // The first call starts a pool, or drops one that failed (the second then starts a new one).
  usablePool(false);
  if (pool === null && disabled === null) usablePool(false);
  if (pool === null) return false;
  const ok = pool.waitReady(timeoutMs);
  if (!ok) usablePool(false);
  return ok;
}

/**
 * As startKernelWorkers, but waits by going back to the event loop: a browser worker cannot start
 * its nested kernel workers while it blocks, so there this is the way to wait for them.
 */
export async function startKernelWorkersAsync(timeoutMs = 60_000): Promise<boolean> {
  if (getKernelThreads() <= 1) return false;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (usablePool(false) !== null) return true;
    if (disabled !== null || Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

// ---------------------------------------------------------------------------------------------
// Thresholds (measured on the 2-core machine, README.md): below these, copying operands into
// shared memory and waking a worker cost more than the second thread saves.

/**
 * Multiply-adds below which a GEMM / convolution stays on one thread, per kernel set, and the
 * least multiply-adds per copied element (planGemm's cost) of a split GEMM with the WebAssembly
 * kernels: GEMV-like products (a batch-1 linear layer) read every weight once, so copying the
 * weights to a worker costs as much as using them. Measured on the 2-core VM (README.md):
 * 128^3 (intensity 14.5) 1.03x, 192^3 (21) 1.36x; convolutions of 3.7M multiply-adds 0.8-1.4x.
 * The TypeScript kernels are ~10x slower per multiply-add, so their break-even is lower.
 */
export const limits = { gemmWasm: 1 << 21, gemmTs: 1 << 18, convWasm: 1 << 23, convTs: 1 << 19, gemmIntensity: 16, residentBytes: RESIDENT_BYTES };

/** Overrides the limits above (specs use it to split small products too); returns the previous ones. */
export function setKernelThreadLimits(next: Partial<typeof limits>): typeof limits {
  const prev = { ...limits };
  Object.assign(limits, next);
  return prev;
}

export const stats = { gemm: 0, conv: 0, residentConv: 0 };

/** How many GEMM / convolution calls ran split over threads in this process (for specs and benchmarks). */
export function kernelThreadStats(): { gemm: number; conv: number; residentConv: number } {
  return { ...stats };
}

/** Bump allocation in the data buffer, 64-byte aligned (no two regions share a cache line). */
export class Layout {
  bytes = 0;
  constructor(readonly S: number) {}
  alloc(elements: number): number {
    const at = this.bytes;
    this.bytes = (at + elements * this.S + 63) & ~63;
    return at / this.S;
  }
}

/**
 * Writes every page of the rows x cols region at a[off + r*ld + c] with its own value, so that the
 * memory behind a freshly allocated output is mapped before the workers start. Page faults taken
 * while another thread of the process runs are ~35x slower on this project's VM (protocol.ts,
 * SPIN_MS), and the engine hands every kernel a new, untouched output array: faulting it in during
 * the split call cost ResNet-18 LRP most of the second thread's gain.
 */
export function prefault(a: FloatArray, off: number, rows: number, cols: number, ld: number): void {
  const step = 4096 / a.BYTES_PER_ELEMENT;
  if (ld === cols) {
    const end = off + rows * cols;
    for (let i = off; i < end; i += step) a[i] = a[i]!;
    if (end > off) a[end - 1] = a[end - 1]!;
    return;
  }
  for (let r = 0; r < rows; r++) {
    const o = off + r * ld;
    for (let j = 0; j < cols; j += step) a[o + j] = a[o + j]!;
    a[o + cols - 1] = a[o + cols - 1]!;
  }
}
