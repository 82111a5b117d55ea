/**
 * The TypeScript GEMM: packed and register-blocked (gemm-f32.ts, gemm-f64.ts) for products big
 * enough to pay for packing, plain loops below. The dispatcher has checked the dtypes and that
 * M, N > 0.
 */
import type { FloatArray } from '../types.js';
import { gemmPackedF32 } from './gemm-f32.js';
import { gemmPackedF64 } from './gemm-f64.js';

/**
 * Where packing stops paying (measured): one or two rows of op(A) make the product a GEMV that
 * reads every element of B once anyway (the simple dot-product loop is 2-3x faster there), a
 * single column wastes 3/4 of the 4x4 micro-tile, and below a few hundred multiply-adds the
 * fixed cost of packing dominates. Even 4x4x4 and thin K (100x100x1) are faster packed.
 */
const PACK_MIN_M = 3;
const PACK_MIN_N = 2;
const PACK_MIN_WORK = 256;

/** C[M,N] (+)= op(A) op(B) with row strides lda, ldb, ldc. */
export function gemmTs(
  transA: boolean, transB: boolean, M: number, N: number, K: number,
  A: FloatArray, aOff: number, lda: number, B: FloatArray, bOff: number, ldb: number,
  C: FloatArray, cOff: number, ldc: number, accumulate: boolean,
): void {
  if (!accumulate) zeroRows(C, cOff, M, N, ldc);
  if (K <= 0) return;
  if (M < PACK_MIN_M || N < PACK_MIN_N || M * N * K < PACK_MIN_WORK) {
    gemmSimple(transA, transB, M, N, K, A, aOff, lda, B, bOff, ldb, C, cOff, ldc);
  } else {
    gemmPackedAcc(transA, transB, M, N, K, A, aOff, lda, B, bOff, ldb, C, cOff, ldc);
  }
}

/** The packed path whatever the size; exported so the specs can exercise it on tiny shapes too. */
export function gemmPacked(
  transA: boolean, transB: boolean, M: number, N: number, K: number,
  A: FloatArray, aOff: number, B: FloatArray, bOff: number,
  C: FloatArray, cOff: number, accumulate: boolean,
): void {
  checkGemmDTypes(A, B, C);
  if (!accumulate) zeroRows(C, cOff, M, N, N);
  gemmPackedAcc(transA, transB, M, N, K, A, aOff, transA ? M : K, B, bOff, transB ? K : N, C, cOff, N);
}

function gemmPackedAcc(
  transA: boolean, transB: boolean, M: number, N: number, K: number,
  A: FloatArray, aOff: number, lda: number, B: FloatArray, bOff: number, ldb: number,
  C: FloatArray, cOff: number, ldc: number,
): void {
  // The dtypes were checked, so C's kind decides for all three.
  if (C instanceof Float32Array) {
    gemmPackedF32(transA, transB, M, N, K, A as Float32Array, aOff, lda, B as Float32Array, bOff, ldb, C, cOff, ldc);
  } else {
    gemmPackedF64(transA, transB, M, N, K, A as Float64Array, aOff, lda, B as Float64Array, bOff, ldb, C, cOff, ldc);
  }
}

/** Mixed dtypes would silently round (or widen) on one path and hit deoptimised code on the other. */
export function checkGemmDTypes(A: FloatArray, B: FloatArray, C: FloatArray): void {
  const f32 = C instanceof Float32Array;
  if (f32 !== A instanceof Float32Array || f32 !== B instanceof Float32Array) {
    throw new TypeError('gemm: A, B and C must all be Float32Array or all Float64Array');
  }
}

export function zeroRows(C: FloatArray, cOff: number, M: number, N: number, ldc: number): void {
  if (ldc === N) C.fill(0, cOff, cOff + M * N);
  else for (let i = 0; i < M; i++) C.fill(0, cOff + i * ldc, cOff + i * ldc + N);
}

/**
 * Unpacked loops for small or thin products, C += op(A) op(B). Loop orders keep the innermost
 * loop on contiguous memory where the layout allows it.
 */
function gemmSimple(
  transA: boolean, transB: boolean, M: number, N: number, K: number,
  A: FloatArray, aOff: number, lda: number, B: FloatArray, bOff: number, ldb: number,
  C: FloatArray, cOff: number, ldc: number,
): void {
  const sAi = transA ? 1 : lda;
  const sAk = transA ? lda : 1;
  if (!transB) {
    for (let i = 0; i < M; i++) {
      const ci = cOff + i * ldc;
      for (let k = 0; k < K; k++) {
        const a = A[aOff + i * sAi + k * sAk]!;
        const bk = bOff + k * ldb;
        for (let j = 0; j < N; j++) C[ci + j] = C[ci + j]! + a * B[bk + j]!;
      }
    }
  } else {
    for (let i = 0; i < M; i++) {
      const ai = aOff + i * sAi;
      const ci = cOff + i * ldc;
      for (let j = 0; j < N; j++) {
        const bj = bOff + j * ldb;
        let acc = 0;
        for (let k = 0; k < K; k++) acc += A[ai + k * sAk]! * B[bj + k]!;
        C[ci + j] = C[ci + j]! + acc;
      }
    }
  }
}
