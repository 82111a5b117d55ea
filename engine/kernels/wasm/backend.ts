/** The WebAssembly SIMD backend's row in the dispatcher's table. */
import type { Backend } from '../types.js';
import { wasmKernelsActive } from './index.js';
import { gemmWasm, WASM_GEMM_MIN_WORK } from './gemm.js';
import { conv2dForwardWasm, conv2dBackwardInputWasm, conv2dBackwardWeightWasm } from './conv.js';
import { addChannelBiasKernel, binaryKernel, clampKernel, passWithinKernel, reluKernel, stabilizedDivKernel, WASM_ELEMENTWISE_MIN } from './elementwise.js';

export const wasmBackend: Backend = {
  name: 'wasm',
  active: wasmKernelsActive,
  kernels: {
    // Below WASM_GEMM_MIN_WORK copying into linear memory costs more than SIMD saves.
    gemm: (_next, transA, transB, M, N, K, ...operands) => K > 0 && M * N * K >= WASM_GEMM_MIN_WORK && gemmWasm(transA, transB, M, N, K, ...operands),
    conv2dForward: (_next, x, w, y, g) => conv2dForwardWasm(x, w, y, g),
    conv2dBackwardInput: (_next, gy, w, gx, g) => conv2dBackwardInputWasm(gy, w, gx, g),
    conv2dBackwardWeight: (_next, x, gy, gw, g) => conv2dBackwardWeightWasm(x, gy, gw, g),
    clamp: (_next, src, dst, lo, hi) => src.length >= WASM_ELEMENTWISE_MIN && clampKernel(src, dst, lo, hi),
    relu: (_next, src, dst) => src.length >= WASM_ELEMENTWISE_MIN && reluKernel(src, dst),
    binary: (_next, code, a, _aShape, b, _bShape, out) => out.length >= WASM_ELEMENTWISE_MIN && binaryKernel(code, a, b, out),
    addChannelBias: (_next, y, b, N, O, P) => addChannelBiasKernel(y, b, N, O, P),
    stabilizedDiv: (_next, r, y, dst, eps) => dst.length >= WASM_ELEMENTWISE_MIN && stabilizedDivKernel(r, y, dst, eps),
    passWithin: (_next, g, x, dst, lo, hi, openLo) => dst.length >= WASM_ELEMENTWISE_MIN && passWithinKernel(g, x, dst, lo, hi, openLo),
  },
};
