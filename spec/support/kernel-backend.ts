/**
 * Mocha hooks for specs of one kernel set: every test starts with `backend` chosen (null: as it
 * is) and the previous choice is restored after it, so a test may switch sets freely.
 */
import { getKernelBackend, setKernelBackend, type KernelBackend } from '../../engine/kernels/dispatch.js';

export function kernelBackendPerTest(backend: KernelBackend | null): void {
  let before: KernelBackend;
  beforeEach(() => {
    before = getKernelBackend();
    if (backend !== null) setKernelBackend(backend);
  });
  afterEach(() => setKernelBackend(before));
}
