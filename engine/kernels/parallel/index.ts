/**
 * Multi-threaded GEMM and convolution: large products are cut into output tiles that worker
 * threads compute next to the main thread, through shared memory (README.md in this folder).
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
import type { FloatArray } from '../gemm.js';
import type { ConvGeometry } from '../conv.js';
import { wasmKernelsActive } from '../wasm/index.js';
import { isCachedValue } from '../../memo.js';
import { D_ARGS, GEOMETRY_KEYS, OP_CONV, OP_GEMM, OP_HANG, OP_THROW } from './protocol.js';
import { Pool, workerThreadsModule, availableCores, KernelWorkerError, setKernelWorkerTimeout, RESIDENT_BYTES } from './pool.js';
import {
  BACKWARD_WEIGHT, convTile, planConv, guidedBounds, gemmChunk, tileInputRegions, tileOutputBoxes, copyBox, boxSize, dimsOf, type ConvFn, type ConvKind, type GemmFn,
} from './tiles.js';

export { KernelWorkerError, setKernelWorkerTimeout };
export { FORWARD, BACKWARD_INPUT, BACKWARD_WEIGHT, type ConvKind, type ConvFn, type GemmFn } from './tiles.js';

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

/** The thread count kernels use: the setting, or 1 where worker threads are unavailable or failed to start. */
export function getKernelThreads(): number {
  if (requested <= 1 || disabled !== null || !workerThreadsModule()) return 1;
  return requested;
}

/** Why the kernels run single-threaded despite `setKernelThreads(n > 1)`, or null. */
export function kernelThreadsDisabledReason(): string | null {
  if (requested > 1 && !workerThreadsModule()) return 'worker_threads / SharedArrayBuffer are not available here';
  return disabled;
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
function usablePool(wasm: boolean): Pool | null {
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
  if (wasm && !pool.workersHaveWasm()) return null;
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
const limits = { gemmWasm: 1 << 21, gemmTs: 1 << 18, convWasm: 1 << 23, convTs: 1 << 19, gemmIntensity: 16, residentBytes: RESIDENT_BYTES };

/** Overrides the limits above (specs use it to split small products too); returns the previous ones. */
export function setKernelThreadLimits(next: Partial<typeof limits>): typeof limits {
  const prev = { ...limits };
  Object.assign(limits, next);
  return prev;
}

const stats = { gemm: 0, conv: 0, residentConv: 0 };

/** How many GEMM / convolution calls ran split over threads in this process (for specs and benchmarks). */
export function kernelThreadStats(): { gemm: number; conv: number; residentConv: number } {
  return { ...stats };
}

/** Bump allocation in the data buffer, 64-byte aligned (no two regions share a cache line). */
class Layout {
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
function prefault(a: FloatArray, off: number, rows: number, cols: number, ld: number): void {
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

// ---------------------------------------------------------------------------------------------
// GEMM

/** Copies the rows x cols matrix at src[off + r*ld + c] to dst[dOff + r*dLd + c] (dLd defaults to cols). */
function copyIn(src: FloatArray, off: number, ld: number, rows: number, cols: number, dst: FloatArray, dOff: number, dLd = cols): void {
  if (rows <= 0 || cols <= 0) return;
  if (ld === cols && dLd === cols) {
    dst.set(src.subarray(off, off + rows * cols), dOff);
    return;
  }
  for (let r = 0; r < rows; r++) dst.set(src.subarray(off + r * ld, off + r * ld + cols), dOff + r * dLd);
}

/** Copies the compact rows x cols matrix at src[sOff + r*cols + c] out to dst[off + r*ld + c]. */
function copyOut(src: FloatArray, sOff: number, rows: number, cols: number, dst: FloatArray, off: number, ld: number): void {
  if (ld === cols) {
    dst.set(src.subarray(sOff, sOff + rows * cols), off);
    return;
  }
  for (let r = 0; r < rows; r++) dst.set(src.subarray(sOff + r * cols, sOff + r * cols + cols), off + r * ld);
}

/** A GEMM's chunks along M (rows of C) or N (columns) and what they cost to hand out. */
interface GemmPlan {
  byM: boolean;
  bounds: number[];
  /** Elements copied (through shared memory, and into each chunk's kernel call), plus RUN_COST per separate run. */
  cost: number;
}

/** A short copy (a typed-array view and a call) costs about as much as copying this many elements. */
const RUN_COST = 1000;

function planGemm(byM: boolean, T: number, transA: boolean, transB: boolean, M: number, N: number, K: number, accumulate: boolean): GemmPlan | null {
  // Chunks of whole micro-tiles (4 rows / 8 columns), at least 16 rows / 32 columns and a 4T-th of the extent.
  const align = byM ? 4 : 8;
  const extent = byM ? M : N;
  if (extent < 2 * 4 * align) return null;
  const units = Math.ceil(extent / align);
  const bounds = guidedBounds(units, T, Math.max(4, Math.ceil(units / (4 * T))), M * N * K).map((u) => Math.min(extent, u * align));
  if (bounds.length < 3) return null;
  const cIO = accumulate ? 2 : 1;
  // The main thread's copies into and out of shared memory, then each chunk's kernel call, which
  // copies its operands into WebAssembly memory (a cut of a row-major matrix across its rows is one
  // run per row).
  let cost = M * K + K * N + cIO * M * N + 4 * RUN_COST;
  for (let c = 0; c + 1 < bounds.length; c++) {
    const e = bounds[c + 1]! - bounds[c]!;
    if (byM) cost += e * K + K * N + cIO * e * N + RUN_COST * (3 + (transA ? K : 0));
    else cost += M * K + K * e + cIO * M * e + RUN_COST * (2 + (transB ? 0 : K) + cIO * M);
  }
  return { byM, bounds, cost };
}

/**
 * C[M,N] (+)= op(A) op(B) on all threads, in chunks of rows or columns of C, whichever copies less
 * (each chunk is one kernel call, which copies the operand it does not cut). False when it is not
 * worth it (nothing written then). `serial` is the single-threaded gemm; the workers run the same
 * kernel set, and a chunk of rows or columns of C computes every element exactly as the whole
 * product does. `pathMinWork`: gemm.ts's size below which it switches kernels; every chunk stays
 * above it.
 */
export function gemmParallel(
  serial: GemmFn,
  pathMinWork: number,
  transA: boolean, transB: boolean, M: number, N: number, K: number,
  A: FloatArray, aOff: number, lda: number, B: FloatArray, bOff: number, ldb: number,
  C: FloatArray, cOff: number, ldc: number, accumulate: boolean,
): boolean {
  const wasm = wasmKernelsActive();
  const work = M * N * K;
  if (work < (wasm ? limits.gemmWasm : limits.gemmTs) || K < 8) return false;
  const p = usablePool(wasm);
  if (p === null) return false;
  const T = p.size + 1;
  const planM = planGemm(true, T, transA, transB, M, N, K, accumulate);
  const planN = planGemm(false, T, transA, transB, M, N, K, accumulate);
  const plan = planM && (!planN || planM.cost <= planN.cost) ? planM : planN;
  // The TypeScript kernels are ~10x slower per multiply-add, so copies weigh less against them.
  if (plan === null || work / plan.cost < (wasm ? limits.gemmIntensity : limits.gemmIntensity / 8)) return false;
  const { byM, bounds } = plan;
  // Every chunk must take the kernel path the whole product takes (gemm.ts picks it by size).
  for (let c = 0; c + 1 < bounds.length; c++) {
    if ((bounds[c + 1]! - bounds[c]!) * (byM ? N : M) * K < pathMinWork) return false;
  }

  const f64 = !(C instanceof Float32Array);
  const L = new Layout(f64 ? 8 : 4);
  const aS = L.alloc(M * K), bS = L.alloc(K * N), cS = L.alloc(M * N);
  if (!p.reserve(L.bytes)) return false;
  const mem = f64 ? p.f64 : p.f32;
  // Compact copies: op(A) stored [M,K] or [K,M], op(B) stored [K,N] or [N,K], C [M,N].
  const ldaS = transA ? M : K, ldbS = transB ? K : N;

  p.busy = true;
  try {
    // The operand every chunk reads whole goes first; each chunk's cut of the other (and of C when
    // accumulating) is staged chunk by chunk (runChunks): the workers' first chunks before they wake.
    if (byM) copyIn(B, bOff, ldb, transB ? N : K, ldbS, mem, bS);
    else copyIn(A, aOff, lda, transA ? K : M, ldaS, mem, aS);
    if (!accumulate) prefault(C, cOff, M, N, ldc);
    const stage = (c: number): void => {
      const lo = bounds[c]!, e = bounds[c + 1]! - lo;
      if (byM) {
        // Rows lo..lo+e of op(A): rows of A, or a column range of the stored A^T.
        if (transA) copyIn(A, aOff + lo, lda, K, e, mem, aS + lo, ldaS);
        else copyIn(A, aOff + lo * lda, lda, e, K, mem, aS + lo * K);
        if (accumulate) copyIn(C, cOff + lo * ldc, ldc, e, N, mem, cS + lo * N);
      } else {
        // Columns lo..lo+e of op(B): a column range of B, or rows of the stored B^T.
        if (transB) copyIn(B, bOff + lo * ldb, ldb, e, K, mem, bS + lo * K);
        else copyIn(B, bOff + lo, ldb, K, e, mem, bS + lo, ldbS);
        if (accumulate) copyIn(C, cOff + lo, ldc, M, e, mem, cS + lo, N);
      }
    };
    // Chunks of rows: the main thread works in place and copies back the workers' rows. Chunks of
    // columns are M short runs each, so there the main thread works in shared memory too and C
    // comes back in one piece.
    const mainChunk = byM
      ? (lo: number, hi: number) => gemmChunk(serial, true, lo, hi, transA, transB, M, N, K, A, aOff, lda, B, bOff, ldb, C, cOff, ldc, accumulate)
      : (lo: number, hi: number) => gemmChunk(serial, false, lo, hi, transA, transB, M, N, K, mem, aS, ldaS, mem, bS, ldbS, mem, cS, N, accumulate);
    const owners = p.runChunks(
      bounds,
      stage,
      (w) => p.post(w, OP_GEMM, f64, wasm, (c) => {
        let i = D_ARGS;
        c[i++] = transA ? 1 : 0;
        c[i++] = transB ? 1 : 0;
        c[i++] = M;
        c[i++] = N;
        c[i++] = K;
        c[i++] = byM ? 1 : 0;
        c[i++] = aS;
        c[i++] = ldaS;
        c[i++] = bS;
        c[i++] = ldbS;
        c[i++] = cS;
        c[i++] = N;
        c[i++] = accumulate ? 1 : 0;
      }),
      mainChunk,
      `${M}x${N}x${K} GEMM`,
      !byM,
    );
    if (byM) {
      for (let c = 0; c < owners.length; c++) {
        const lo = bounds[c]!, hi = bounds[c + 1]!;
        if (owners[c] !== 0) copyOut(mem, cS + lo * N, hi - lo, N, C, cOff + lo * ldc, ldc);
      }
    } else {
      copyOut(mem, cS, M, N, C, cOff, ldc);
    }
    stats.gemm++;
  } finally {
    p.busy = false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Convolution

const convNames = ['conv2d forward', 'conv2d input gradient', 'conv2d weight gradient'];

/**
 * The convolution `kind` on all threads, in chunks tiles.ts plans; false when it is not worth it
 * or cannot be cut exactly. `serial` is the single-threaded kernel of that kind.
 */
export function convParallel(kind: ConvKind, serial: ConvFn, a: FloatArray, b: FloatArray, out: FloatArray, g: ConvGeometry): boolean {
  const wasm = wasmKernelsActive();
  const work = g.N * g.O * (g.C / g.groups) * g.KH * g.KW * g.OH * g.OW;
  if (work < (wasm ? limits.convWasm : limits.convTs)) return false;
  const p = usablePool(wasm);
  if (p === null) return false;
  const T = p.size + 1;
  const plan = planConv(kind, g, T);
  if (plan === null) return false;
  const f64 = !(out instanceof Float32Array);
  const dims = [dimsOf(kind, g, 0), dimsOf(kind, g, 1), dimsOf(kind, g, 2)] as const;
  const sizes = dims.map((d) => d[0] * d[1] * d[2] * d[3]);
  // The weight of a forward or input-gradient convolution that the parameter cache holds (never
  // written again) lives in the resident arena: copied once, not staged on every call.
  const residentB = kind !== BACKWARD_WEIGHT && isCachedValue(b) && b.length === sizes[1] ? p.residentOffset(b, limits.residentBytes) : -1;
  // The data buffer mirrors the three arrays' layouts: the chunks' boxes of the inputs are copied
  // in, the workers' boxes of the output copied back.
  const L = new Layout(f64 ? 8 : 4);
  const offs = sizes.map((n, arr) => L.alloc(arr === 1 && residentB >= 0 ? 0 : n));
  if (!p.reserve(L.bytes)) return false;
  const mem = f64 ? p.f64 : p.f32;

  p.busy = true;
  try {
    prefault(out, 0, 1, sizes[2]!, sizes[2]!);
    const arrays = [a, b] as const;
    const copiedWhole = [false, residentB >= 0];
    // Each chunk's boxes of a and b into the mirror (runChunks: the workers' first chunks before
    // they wake, the rest after); an array copied whole once is not copied again.
    const stage = (c: number): void => {
      for (const r of tileInputRegions(kind, g, plan.split, plan.bounds[c]!, plan.bounds[c + 1]!)) {
        if (copiedWhole[r.arr]) continue;
        copyBox(arrays[r.arr], 0, mem, offs[r.arr]!, dims[r.arr], r.box);
        if (boxSize(dims[r.arr], r.box) === sizes[r.arr]) copiedWhole[r.arr] = true;
      }
    };
    const owners = p.runChunks(
      plan.bounds,
      stage,
      (w) => p.post(w, OP_CONV, f64, wasm, (c) => {
        let i = D_ARGS;
        c[i++] = kind;
        c[i++] = plan.split;
        c[i++] = offs[0]!;
        c[i++] = offs[1]!;
        c[i++] = offs[2]!;
        c[i++] = residentB;
        c[i++] = p.residentGen;
        for (const k of GEOMETRY_KEYS) c[i++] = g[k];
      }),
      (lo, hi) => convTile(kind, serial, a, b, out, g, plan.split, lo, hi),
      convNames[kind]!,
    );
    for (let c = 0; c < owners.length; c++) {
      if (owners[c] === 0) continue;
      for (const box of tileOutputBoxes(kind, g, plan.split, plan.bounds[c]!, plan.bounds[c + 1]!)) copyBox(mem, offs[2]!, out, 0, dims[2], box);
    }
    stats.conv++;
    if (residentB >= 0) stats.residentConv++;
  } finally {
    p.busy = false;
  }
  return true;
}

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
