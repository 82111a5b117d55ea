/**
 * The TypeScript backend: every kernel, the reference the others are tested against and the last
 * entry of the dispatcher's table (it never declines a call).
 */
import type { Kernels } from '../types.js';
import { gemmTs } from './gemm.js';
import { convKernels } from './conv.js';
import { binary } from './elementwise.js';
import { binaryMap, where, reduceSum } from './broadcast.js';
import * as unary from './unary.js';
import * as axis from './along-axis.js';
import * as layout from './layout.js';
import * as pool from './pool.js';

/** The full set; `gemm` is the GEMM the convolutions lower to (the dispatcher passes its own). */
export function typescriptKernels(gemm: Kernels['gemm']): Kernels {
  return {
    gemm: gemmTs,
    ...convKernels(gemm),
    ...unary,
    binary,
    binaryMap,
    where,
    reduceSum,
    ...axis,
    ...layout,
    ...pool,
  };
}
