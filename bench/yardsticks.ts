/**
 * Issue 7's reference numbers, measured on the same kind of machine (2 cores, AVX2): PyTorch 2.13 +
 * zennit, TensorFlow.js, oneDNN. Ratios printed by run.ts are ours / theirs for times (above 1 =
 * slower than the yardstick) and ours / target for GFLOP/s.
 */

export interface TimeYardstick {
  kind: 'time';
  /** Short label for the table. */
  label: string;
  ms: number;
  /** Threads the yardstick used. */
  threads: number;
}

export interface Milestone {
  /** e.g. 'within 5x of PyTorch+zennit (2 threads)'. */
  label: string;
  /** Met when median_ms <= maxMs (time) or gflops >= minGflops. */
  maxMs?: number;
  minGflops?: number;
  /** Only meaningful with this kernel set ('ts' / 'wasm'); absent: any. */
  kernels?: string;
}

export const YARDSTICKS: Readonly<Record<string, readonly TimeYardstick[]>> = {
  'resnet18-lrp': [
    { kind: 'time', label: 'PyTorch+zennit 1 thread', ms: 435, threads: 1 },
    { kind: 'time', label: 'PyTorch+zennit 2 threads', ms: 261, threads: 2 },
  ],
  'resnet18-forward': [
    { kind: 'time', label: 'tfjs wasm', ms: 142, threads: 0 },
    { kind: 'time', label: 'tfjs cpu (plain JS)', ms: 4400, threads: 1 },
  ],
  'resnet18-gradient': [{ kind: 'time', label: 'tfjs wasm fwd+grad', ms: 1900, threads: 0 }],
};

export const MILESTONES: Readonly<Record<string, readonly Milestone[]>> = {
  'resnet18-lrp': [
    { label: '<= 5x PyTorch+zennit 2t (1305 ms)', maxMs: 5 * 261 },
    { label: '<= 2x PyTorch+zennit 2t (522 ms)', maxMs: 2 * 261 },
  ],
  'gemm-1024': [
    { label: '> 3.5 GFLOP/s (TS kernels)', minGflops: 3.5, kernels: 'ts' },
    { label: '> 25 GFLOP/s (wasm SIMD, 1 thread)', minGflops: 25, kernels: 'wasm' },
  ],
  'resnet18-forward': [{ label: 'faster than tfjs wasm (142 ms)', maxMs: 142 }],
  'resnet18-gradient': [{ label: '>= 5x faster than tfjs wasm (380 ms)', maxMs: 1900 / 5 }],
};

/** float32 FLOP/s one core of this machine can do (oneDNN reaches 96-106 GFLOP/s single-threaded). */
export const CORE_PEAK_GFLOPS = 100;

export function milestoneMet(m: Milestone, r: { median_ms: number; gflops: number | null }): boolean {
  if (m.maxMs !== undefined) return r.median_ms <= m.maxMs;
  if (m.minGflops !== undefined) return r.gflops !== null && r.gflops > m.minGflops;
  return false;
}
