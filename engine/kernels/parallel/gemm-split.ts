/**
 * GEMM on all threads: chunks of rows (or columns) of C, operands copied into the pool's shared
 * data buffer chunk by chunk, results copied back.
 */
import type { FloatArray } from '../types.js';
import { wasmKernelsActive } from '../wasm/index.js';
import { D_ARGS, OP_GEMM } from './protocol.js';
import { guidedBounds, gemmChunk, type GemmFn } from './tiles.js';
import { usablePool, limits, stats, Layout, prefault } from './state.js';

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
 * product does. `pathMinWork`: the size below which the serial kernels switch paths; every chunk
 * stays above it.
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
