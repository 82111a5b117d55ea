/**
 * GEMM in WebAssembly: operands copied into linear memory (in blocks for large products), the
 * SIMD kernel, the result copied back.
 */
import type { FloatArray } from '../types.js';
import { align, heapBase, reserve, viewFor, wasmExports } from './index.js';

/**
 * Below this many multiply-adds the WebAssembly GEMM's fixed cost (copying operands into linear
 * memory, the call) outweighs its SIMD speed: the dispatcher's row (backend.ts) declines them. The threaded split
 * (parallel/) keeps every chunk above it, so that each chunk takes the path the whole product takes.
 */
export const WASM_GEMM_MIN_WORK = 4096;

/** Copies the rows x cols matrix at src[off + r*ld + c] into mem[dst + r*cols + c]. */
function copyIn(src: FloatArray, off: number, ld: number, rows: number, cols: number, mem: FloatArray, dst: number): void {
  if (ld === cols || rows === 1) {
    mem.set(src.subarray(off, off + rows * cols), dst);
  } else if (cols >= 32) {
    for (let r = 0; r < rows; r++) mem.set(src.subarray(off + r * ld, off + r * ld + cols), dst + r * cols);
  } else {
    for (let r = 0; r < rows; r++) {
      const s = off + r * ld;
      const d = dst + r * cols;
      for (let c = 0; c < cols; c++) mem[d + c] = src[s + c]!;
    }
  }
}

/** Copies mem[src + r*cols + c] (rows x cols, contiguous) out to dst[off + r*ld + c]. */
function copyOut(mem: FloatArray, src: number, rows: number, cols: number, dst: FloatArray, off: number, ld: number): void {
  if (ld === cols || rows === 1) {
    dst.set(mem.subarray(src, src + rows * cols), off);
  } else if (cols >= 32) {
    for (let r = 0; r < rows; r++) dst.set(mem.subarray(src + r * cols, src + r * cols + cols), off + r * ld);
  } else {
    for (let r = 0; r < rows; r++) {
      const s = src + r * cols;
      const d = off + r * ld;
      for (let c = 0; c < cols; c++) dst[d + c] = mem[s + c]!;
    }
  }
}


/**
 * Operand elements one GEMM block may copy into linear memory (32 MiB of float32). Bigger products
 * (a VGG classifier's 25088 x 4096 weight, say) run as several blocks, so linear memory, which never
 * shrinks, stays bounded while each large operand is still copied about once.
 */
let gemmBlockElements = 1 << 23;

/**
 * Sets the per-block operand budget of the WebAssembly GEMM (elements) and returns the previous
 * one. For specs that exercise the blocked path on small products; there is no need to tune it.
 */
export function setWasmGemmBlockElements(elements: number): number {
  const prev = gemmBlockElements;
  gemmBlockElements = Math.max(64, Math.floor(elements));
  return prev;
}

/**
 * The gemm kernel through WebAssembly: C[M,N] (+)= op(A) op(B) with row strides lda, ldb, ldc.
 * The caller has checked dtypes. Returns false when linear memory cannot hold even one block, in
 * which case nothing was written.
 */
export function gemmWasm(
  transA: boolean, transB: boolean, M: number, N: number, K: number,
  A: FloatArray, aOff: number, lda: number, B: FloatArray, bOff: number, ldb: number,
  C: FloatArray, cOff: number, ldc: number, accumulate: boolean,
): boolean {
  if (M <= 0 || N <= 0) return true;
  if (K <= 0) {
    if (!accumulate) for (let i = 0; i < M; i++) C.fill(0, cOff + i * ldc, cOff + i * ldc + N);
    return true;
  }
  // K is split (accumulating) only when it alone would crowd out the M and N blocks.
  const kb = Math.min(K, gemmBlockElements >> 6);
  let mb = M;
  let nb = N;
  while (mb * kb + kb * nb + mb * nb > gemmBlockElements) {
    if (kb * nb >= mb * kb) nb = Math.ceil(nb / 2);
    else mb = Math.ceil(mb / 2);
  }
  if (mb === M && nb === N && kb === K) {
    return gemmBlock(transA, transB, M, N, K, A, aOff, lda, B, bOff, ldb, C, cOff, ldc, accumulate);
  }
  // Reserve the largest block's memory up front, so that a failure leaves C untouched.
  if (!gemmBlockFits(C instanceof Float32Array, mb, nb, kb)) return false;
  for (let i0 = 0; i0 < M; i0 += mb) {
    const m = Math.min(mb, M - i0);
    for (let j0 = 0; j0 < N; j0 += nb) {
      const n = Math.min(nb, N - j0);
      for (let k0 = 0; k0 < K; k0 += kb) {
        const k = Math.min(kb, K - k0);
        const a0 = transA ? aOff + k0 * lda + i0 : aOff + i0 * lda + k0;
        const b0 = transB ? bOff + j0 * ldb + k0 : bOff + k0 * ldb + j0;
        gemmBlock(transA, transB, m, n, k, A, a0, lda, B, b0, ldb, C, cOff + i0 * ldc + j0, ldc, accumulate || k0 > 0);
      }
    }
  }
  return true;
}

interface GemmBlockLayout {
  pA: number;
  pB: number;
  pC: number;
  pW: number;
  top: number;
}

function gemmBlockLayout(single: boolean, M: number, N: number, K: number): GemmBlockLayout {
  const S = single ? 4 : 8;
  const pA = heapBase;
  const pB = align(pA + M * K * S);
  const pC = align(pB + K * N * S);
  const pW = align(pC + M * N * S);
  const scratch = single ? wasmExports().gemmScratchBytesF32(M, N, K) : wasmExports().gemmScratchBytesF64(M, N, K);
  return { pA, pB, pC, pW, top: pW + scratch };
}

function gemmBlockFits(single: boolean, M: number, N: number, K: number): boolean {
  return reserve(gemmBlockLayout(single, M, N, K).top);
}

/** One GEMM whose operands all fit in linear memory: copy in, multiply, copy out. */
function gemmBlock(
  transA: boolean, transB: boolean, M: number, N: number, K: number,
  A: FloatArray, aOff: number, lda: number, B: FloatArray, bOff: number, ldb: number,
  C: FloatArray, cOff: number, ldc: number, accumulate: boolean,
): boolean {
  const k = wasmExports();
  const single = C instanceof Float32Array;
  const S = single ? 4 : 8;
  const aRows = transA ? K : M;
  const aCols = transA ? M : K;
  const bRows = transB ? N : K;
  const bCols = transB ? K : N;
  const { pA, pB, pC, pW, top } = gemmBlockLayout(single, M, N, K);
  if (!reserve(top)) return false;
  const mem = viewFor(C);
  copyIn(A, aOff, lda, aRows, aCols, mem, pA / S);
  copyIn(B, bOff, ldb, bRows, bCols, mem, pB / S);
  if (accumulate) copyIn(C, cOff, ldc, M, N, mem, pC / S);
  (single ? k.gemmF32 : k.gemmF64)(transA ? 1 : 0, transB ? 1 : 0, M, N, K, pA, aCols, pB, bCols, pC, N, accumulate ? 1 : 0, pW);
  copyOut(mem, pC / S, M, N, C, cOff, ldc);
  return true;
}

