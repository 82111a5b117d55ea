import { gemmPackedF32 } from './gemm-f32.js';
import { gemmPackedF64 } from './gemm-f64.js';
import { gemmWasm, wasmKernelsActive } from './wasm/index.js';
import { gemmParallel, kernelThreadsActive } from './parallel/index.js';

export {
  setKernelBackend,
  getKernelBackend,
  wasmKernelsAvailable,
  initWasmKernels,
  loadWasmKernels,
  type KernelBackend,
} from './wasm/index.js';
export { setKernelThreads, getKernelThreads, startKernelWorkers } from './parallel/index.js';

export type FloatArray = Float32Array | Float64Array;

/**
 * Where packing stops paying (measured): one or two rows of op(A) make the product a GEMV that
 * reads every element of B once anyway (the simple dot-product loop is 2-3x faster there), a
 * single column wastes 3/4 of the 4x4 micro-tile, and below a few hundred multiply-adds the
 * fixed cost of packing dominates. Even 4x4x4 and thin K (100x100x1) are faster packed.
 */
const PACK_MIN_M = 3;
const PACK_MIN_N = 2;
const PACK_MIN_WORK = 256;

/**
 * Below this many multiply-adds the WebAssembly GEMM's fixed cost (copying operands into linear
 * memory, the call) outweighs its SIMD speed. The TypeScript kernels are the fallback throughout.
 */
const WASM_MIN_WORK = 4096;

/**
 * C[M,N] (+)= op(A)[M,K] * op(B)[K,N], row-major with explicit offsets. op(A) = A or A^T
 * (A stored [K,M] when transposed), likewise B. All three arrays must share one dtype.
 * Products are not skipped for zero entries, so NaN/Inf propagate as IEEE arithmetic says.
 */
export function gemm(
  transA: boolean,
  transB: boolean,
  M: number,
  N: number,
  K: number,
  A: FloatArray,
  aOff: number,
  B: FloatArray,
  bOff: number,
  C: FloatArray,
  cOff: number,
  accumulate: boolean,
): void {
  gemmStrided(transA, transB, M, N, K, A, aOff, transA ? M : K, B, bOff, transB ? K : N, C, cOff, N, accumulate);
}

/**
 * gemm on sub-matrices: lda, ldb, ldc are the row strides of the stored A, B, C, so a column
 * range of a wider matrix (e.g. a band of output pixels of a convolution) needs no copy.
 */
export function gemmStrided(
  transA: boolean,
  transB: boolean,
  M: number,
  N: number,
  K: number,
  A: FloatArray,
  aOff: number,
  lda: number,
  B: FloatArray,
  bOff: number,
  ldb: number,
  C: FloatArray,
  cOff: number,
  ldc: number,
  accumulate: boolean,
): void {
  checkDTypes(A, B, C);
  if (M <= 0 || N <= 0) return;
  if (K > 0 && kernelThreadsActive() && gemmParallel(gemmSerial, WASM_MIN_WORK, transA, transB, M, N, K, A, aOff, lda, B, bOff, ldb, C, cOff, ldc, accumulate)) return;
  gemmSerial(transA, transB, M, N, K, A, aOff, lda, B, bOff, ldb, C, cOff, ldc, accumulate);
}

/** gemmStrided on the calling thread (dtypes already checked, M, N > 0). */
function gemmSerial(
  transA: boolean,
  transB: boolean,
  M: number,
  N: number,
  K: number,
  A: FloatArray,
  aOff: number,
  lda: number,
  B: FloatArray,
  bOff: number,
  ldb: number,
  C: FloatArray,
  cOff: number,
  ldc: number,
  accumulate: boolean,
): void {
  if (K > 0 && M * N * K >= WASM_MIN_WORK && wasmKernelsActive()) {
    if (gemmWasm(transA, transB, M, N, K, A, aOff, lda, B, bOff, ldb, C, cOff, ldc, accumulate)) return;
  }
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
  transA: boolean,
  transB: boolean,
  M: number,
  N: number,
  K: number,
  A: FloatArray,
  aOff: number,
  B: FloatArray,
  bOff: number,
  C: FloatArray,
  cOff: number,
  accumulate: boolean,
): void {
  checkDTypes(A, B, C);
  if (!accumulate) zeroRows(C, cOff, M, N, N);
  gemmPackedAcc(transA, transB, M, N, K, A, aOff, transA ? M : K, B, bOff, transB ? K : N, C, cOff, N);
}

function gemmPackedAcc(
  transA: boolean,
  transB: boolean,
  M: number,
  N: number,
  K: number,
  A: FloatArray,
  aOff: number,
  lda: number,
  B: FloatArray,
  bOff: number,
  ldb: number,
  C: FloatArray,
  cOff: number,
  ldc: number,
): void {
  // checkDTypes has run, so C's kind decides for all three.
  if (C instanceof Float32Array) {
    gemmPackedF32(transA, transB, M, N, K, A as Float32Array, aOff, lda, B as Float32Array, bOff, ldb, C, cOff, ldc);
  } else {
    gemmPackedF64(transA, transB, M, N, K, A as Float64Array, aOff, lda, B as Float64Array, bOff, ldb, C, cOff, ldc);
  }
}

/** Mixed dtypes would silently round (or widen) on one path and hit deoptimised code on the other. */
function checkDTypes(A: FloatArray, B: FloatArray, C: FloatArray): void {
  const f32 = C instanceof Float32Array;
  if (f32 !== A instanceof Float32Array || f32 !== B instanceof Float32Array) {
    throw new TypeError('gemm: A, B and C must all be Float32Array or all Float64Array');
  }
}

function zeroRows(C: FloatArray, cOff: number, M: number, N: number, ldc: number): void {
  if (ldc === N) C.fill(0, cOff, cOff + M * N);
  else for (let i = 0; i < M; i++) C.fill(0, cOff + i * ldc, cOff + i * ldc + N);
}

/**
 * Unpacked loops for small or thin products, C += op(A) op(B). Loop orders keep the innermost
 * loop on contiguous memory where the layout allows it.
 */
function gemmSimple(
  transA: boolean,
  transB: boolean,
  M: number,
  N: number,
  K: number,
  A: FloatArray,
  aOff: number,
  lda: number,
  B: FloatArray,
  bOff: number,
  ldb: number,
  C: FloatArray,
  cOff: number,
  ldc: number,
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
