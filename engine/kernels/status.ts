/**
 * Which kernels run, and waiting until the fast ones can: the one place a user (or a test) asks.
 */
import type { KernelBackend } from './types.js';
import { getKernelBackend } from './dispatch.js';
import { wasmKernelsAvailable, wasmLoadFailure, wasmLoadPending, wasmRelaxedNote, wasmVariant, type WasmVariant } from './wasm/index.js';
import { getKernelThreads, kernelThreadsDisabledReason, noThreadsReason } from './parallel/index.js';

export interface KernelStatus {
  /** The kernels that run now: 'wasm' (WebAssembly SIMD) or 'ts' (the TypeScript reference). */
  backend: KernelBackend;
  /** Whether the WebAssembly module is loaded (whatever the preference). */
  wasmLoaded: boolean;
  /** Why it is not, when it failed to load; null when it loaded or is still loading. */
  wasmFailure: string | null;
  /** Which WebAssembly module is loaded: 'relaxed-simd' (fused multiply-add in GEMM), 'simd', 'custom' (loadWasmKernels with other bytes); null when none. */
  wasmVariant: WasmVariant | null;
  /** Why the plain SIMD module runs rather than the relaxed one (switched off, or the runtime lacks relaxed SIMD); null otherwise. */
  wasmRelaxedNote: string | null;
  /** Threads GEMM and convolutions are split over (1: the calling thread only). */
  threads: number;
  /** Why fewer threads run than were asked for, or than the machine has (no worker_threads here, a failed worker, ...); null when nothing limits them. */
  threadsNote: string | null;
}

/** The active kernel backend and threads, with the reason for any fallback. */
export function kernelStatus(): KernelStatus {
  return {
    backend: getKernelBackend(),
    wasmLoaded: wasmKernelsAvailable(),
    wasmFailure: wasmLoadFailure(),
    wasmVariant: wasmVariant(),
    wasmRelaxedNote: wasmRelaxedNote(),
    threads: getKernelThreads(),
    threadsNote: kernelThreadsDisabledReason() ?? noThreadsReason(),
  };
}

/**
 * Resolves when the kernels are as fast as this runtime allows. In Node and in Web Workers the
 * WebAssembly kernels load synchronously with the library, so this resolves at once; on a browser's
 * main thread it waits for the asynchronous compile. Never rejects: a failed load is reported by
 * one console warning and in the returned status.
 */
export async function ready(): Promise<KernelStatus> {
  const pending = wasmLoadPending();
  if (pending) await pending;
  return kernelStatus();
}
