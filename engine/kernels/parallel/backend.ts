/**
 * The worker threads' row in the dispatcher's table: large GEMMs and convolutions split into
 * chunks; every chunk (here and in the workers) runs `next`, the rest of the table, so threads
 * combine with whichever serial kernels run (and workers run the same set: wasmKernelsActive).
 */
import type { Backend } from '../types.js';
import { WASM_GEMM_MIN_WORK } from '../wasm/gemm.js';
import { kernelThreadsActive } from './state.js';
import { gemmParallel } from './gemm-split.js';
import { convParallel } from './conv-split.js';
import { FORWARD, BACKWARD_INPUT, BACKWARD_WEIGHT } from './plan.js';

export const parallelBackend: Backend = {
  name: 'threads',
  active: kernelThreadsActive,
  kernels: {
    gemm: (next, transA, transB, M, N, K, A, aOff, lda, B, bOff, ldb, C, cOff, ldc, accumulate) =>
      K > 0 && gemmParallel(next, WASM_GEMM_MIN_WORK, transA, transB, M, N, K, A, aOff, lda, B, bOff, ldb, C, cOff, ldc, accumulate),
    conv2dForward: (next, x, w, y, g, constantW) => convParallel(FORWARD, next, x, w, y, g, constantW),
    conv2dBackwardInput: (next, gy, w, gx, g, constantW) => convParallel(BACKWARD_INPUT, next, gy, w, gx, g, constantW),
    conv2dBackwardWeight: (next, x, gy, gw, g) => convParallel(BACKWARD_WEIGHT, next, x, gy, gw, g),
  },
};
