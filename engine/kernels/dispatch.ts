/**
 * The one place that decides which backend computes a kernel call. TABLE lists the accelerated
 * backends in the order they are tried (threads first: a split call's chunks run the rows below
 * it); the TypeScript kernels (ts/) end every chain and never decline. Per call, each backend in
 * turn that is `active()` and has the kernel may take the call or decline it (too small, too big
 * for its memory, a case it cannot compute bit for bit); the first that takes it computes it.
 *
 * Adding a backend: a folder with its kernels and a `Backend` row (see wasm/backend.ts), and the
 * row in TABLE at its place (docs/ARCHITECTURE.md, "Kernel backends").
 */
import type { Backend, Dims, FloatArray, KernelBackend, KernelName, Kernels } from './types.js';
import { typescriptKernels } from './ts/index.js';
import { checkGemmDTypes } from './ts/gemm.js';
import { wasmBackend } from './wasm/backend.js';
import { wasmKernelsAvailable } from './wasm/index.js';
import { parallelBackend } from './parallel/backend.js';
import { preferredKernelBackend } from './preference.js';

export { setKernelBackend } from './preference.js';

const TABLE: readonly Backend[] = [parallelBackend, wasmBackend];

/** The serial kernel set that runs now: 'wasm' only when it is chosen and loaded. */
export function getKernelBackend(): KernelBackend {
  return preferredKernelBackend() === 'wasm' && wasmKernelsAvailable() ? 'wasm' : 'ts';
}

type AnyKernel = (...args: unknown[]) => unknown;

/** Kernel `name` as tried from TABLE[from] on; a kernel no backend accelerates is the TypeScript one itself. */
function chain(name: KernelName, from: number, reference: Kernels): AnyKernel {
  for (let i = from; i < TABLE.length; i++) {
    const backend = TABLE[i]!;
    const impl = backend.kernels[name] as ((next: AnyKernel, ...args: unknown[]) => boolean) | undefined;
    if (!impl) continue;
    const next = chain(name, i + 1, reference);
    return (...args: unknown[]) => {
      if (backend.active() && impl(next, ...args)) return;
      return next(...args);
    };
  }
  return reference[name] as AnyKernel;
}

/** Every kernel, dispatched per call. */
export const kernels = {} as Kernels;
const reference = typescriptKernels((...args) => gemmStrided(...args));
for (const name of Object.keys(reference) as KernelName[]) (kernels as unknown as Record<string, AnyKernel>)[name] = chain(name, 0, reference);

/**
 * C[M,N] (+)= op(A) op(B) on sub-matrices: lda, ldb, ldc are the row strides of the stored A, B,
 * C, so a column range of a wider matrix (a band of a convolution's output pixels) needs no copy.
 */
export function gemmStrided(
  transA: boolean, transB: boolean, M: number, N: number, K: number,
  A: FloatArray, aOff: number, lda: number, B: FloatArray, bOff: number, ldb: number,
  C: FloatArray, cOff: number, ldc: number, accumulate: boolean,
): void {
  checkGemmDTypes(A, B, C);
  if (M <= 0 || N <= 0) return;
  kernels.gemm(transA, transB, M, N, K, A, aOff, lda, B, bOff, ldb, C, cOff, ldc, accumulate);
}

/** gemmStrided on compact matrices (op(A) stored [M,K] or [K,M], likewise B; C [M,N]). */
export function gemm(
  transA: boolean, transB: boolean, M: number, N: number, K: number,
  A: FloatArray, aOff: number, B: FloatArray, bOff: number, C: FloatArray, cOff: number, accumulate: boolean,
): void {
  gemmStrided(transA, transB, M, N, K, A, aOff, transA ? M : K, B, bOff, transB ? K : N, C, cOff, N, accumulate);
}

export const conv2dForward = (x: FloatArray, w: FloatArray, y: FloatArray, g: Parameters<Kernels['conv2dForward']>[3], constantW = false): void =>
  kernels.conv2dForward(x, w, y, g, constantW);
export const conv2dBackwardInput = (gy: FloatArray, w: FloatArray, gx: FloatArray, g: Parameters<Kernels['conv2dBackwardInput']>[3], constantW = false): void =>
  kernels.conv2dBackwardInput(gy, w, gx, g, constantW);
export const conv2dBackwardWeight = (x: FloatArray, gy: FloatArray, gw: FloatArray, g: Parameters<Kernels['conv2dBackwardWeight']>[3]): void =>
  kernels.conv2dBackwardWeight(x, gy, gw, g);

export type { Dims, FloatArray, KernelBackend, Kernels };
export type { ConvGeometry } from './types.js';
