/**
 * Which serial kernel set the user wants: `LRP_TAPE_KERNELS=ts` in the environment, or
 * `setKernelBackend`. What runs also depends on what loaded (dispatch.ts's getKernelBackend).
 */
import type { KernelBackend } from './types.js';

let preferred: KernelBackend = readEnvPreference();

function readEnvPreference(): KernelBackend {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  return env?.LRP_TAPE_KERNELS?.trim().toLowerCase() === 'ts' ? 'ts' : 'wasm';
}

/** Chooses the kernels: 'ts' forces TypeScript, 'wasm' uses WebAssembly SIMD when it is available. */
export function setKernelBackend(backend: KernelBackend): void {
  if (backend !== 'ts' && backend !== 'wasm') throw new TypeError(`unknown kernel backend '${String(backend)}' (expected 'ts' or 'wasm')`);
  preferred = backend;
}

export function preferredKernelBackend(): KernelBackend {
  return preferred;
}
