/**
 * Reference numbers measured on the same kind of machine (2 cores, AVX2): issue 7's PyTorch +
 * zennit, TensorFlow.js and oneDNN figures, and issue 19's PyTorch 2.6 (+ zennit 1.0) anchors with
 * its targets as milestones. Ratios printed by run.ts are ours / theirs for times (above 1 =
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
  /** Only meaningful at this thread count; absent: any. */
  threads?: number;
}

/**
 * Issue 19's anchors: PyTorch 2.6 (+ zennit 1.0 for LRP and EGL), float32, 224x224, batch 1, on this
 * machine kind, as ranges over three sittings (ms). Its targets compare our median with the range's
 * upper end (the anchor of the most favourable sitting for us), times the allowed factor.
 */
interface Issue19Anchor {
  threads: number;
  lo: number;
  hi: number;
  /** Allowed factor: ours <= factor x anchor. */
  factor: number;
  target: string;
}

const PT = 'PyTorch 2.6';
const PTZ = 'PyTorch 2.6 + zennit 1.0';
export const ISSUE19_ANCHORS: Readonly<Record<string, readonly Issue19Anchor[]>> = {
  'resnet18-forward': [{ threads: 2, lo: 18, hi: 24, factor: 2.5, target: `target 1: within 2.5x of ${PT}` }],
  'resnet18-gradient': [{ threads: 2, lo: 45, hi: 48, factor: 2.5, target: `target 1: within 2.5x of ${PT}` }],
  'resnet18-lrp': [
    { threads: 2, lo: 305, hi: 446, factor: 1, target: `target 3: at or below ${PTZ}` },
    { threads: 1, lo: 460, hi: 585, factor: 1, target: `target 3: at or below ${PTZ}` },
  ],
  'vgg16-lrp': [
    { threads: 2, lo: 2500, hi: 3500, factor: 1, target: `target 3: at or below ${PTZ}` },
    { threads: 1, lo: 4200, hi: 4400, factor: 1, target: `target 3: at or below ${PTZ}` },
  ],
  'resnet18-egl': [{ threads: 2, lo: 665, hi: 846, factor: 1.5, target: `target 2: within 1.5x of ${PTZ} double backward` }],
};

function issue19(name: string): TimeYardstick[] {
  return (ISSUE19_ANCHORS[name] ?? []).map((a) => ({
    kind: 'time',
    label: `${name.endsWith('lrp') || name.endsWith('egl') ? PTZ : PT} ${a.threads}t, issue 19's anchors ${a.lo}-${a.hi} ms, upper end`,
    ms: a.hi,
    threads: a.threads,
  }));
}

function issue19Targets(name: string): Milestone[] {
  return (ISSUE19_ANCHORS[name] ?? []).map((a) => ({
    label: `issue 19 ${a.target} at ${a.threads} thread${a.threads > 1 ? 's' : ''} (<= ${a.factor} x ${a.hi} = ${Math.round(a.factor * a.hi)} ms)`,
    maxMs: a.factor * a.hi,
    kernels: 'wasm',
    threads: a.threads,
  }));
}

export const YARDSTICKS: Readonly<Record<string, readonly TimeYardstick[]>> = {
  'resnet18-lrp': [
    { kind: 'time', label: 'PyTorch+zennit 1 thread', ms: 435, threads: 1 },
    { kind: 'time', label: 'PyTorch+zennit 2 threads', ms: 261, threads: 2 },
    ...issue19('resnet18-lrp'),
  ],
  'resnet18-forward': [
    { kind: 'time', label: 'tfjs wasm', ms: 142, threads: 0 },
    { kind: 'time', label: 'tfjs cpu (plain JS)', ms: 4400, threads: 1 },
    ...issue19('resnet18-forward'),
  ],
  'resnet18-gradient': [{ kind: 'time', label: 'tfjs wasm fwd+grad', ms: 1900, threads: 0 }, ...issue19('resnet18-gradient')],
  'vgg16-lrp': issue19('vgg16-lrp'),
  'resnet18-egl': issue19('resnet18-egl'),
};

export const MILESTONES: Readonly<Record<string, readonly Milestone[]>> = {
  'resnet18-lrp': [
    { label: '<= 5x PyTorch+zennit 2t (1305 ms)', maxMs: 5 * 261 },
    { label: '<= 2x PyTorch+zennit 2t (522 ms)', maxMs: 2 * 261 },
    ...issue19Targets('resnet18-lrp'),
  ],
  'gemm-1024': [
    { label: '> 3.5 GFLOP/s (TS kernels)', minGflops: 3.5, kernels: 'ts' },
    { label: '> 25 GFLOP/s (wasm SIMD, 1 thread)', minGflops: 25, kernels: 'wasm' },
  ],
  'resnet18-forward': [{ label: 'faster than tfjs wasm (142 ms)', maxMs: 142 }, ...issue19Targets('resnet18-forward')],
  'resnet18-gradient': [{ label: '>= 5x faster than tfjs wasm (380 ms)', maxMs: 1900 / 5 }, ...issue19Targets('resnet18-gradient')],
  'vgg16-lrp': issue19Targets('vgg16-lrp'),
  'resnet18-egl': issue19Targets('resnet18-egl'),
};

/** float32 FLOP/s one core of this machine can do (oneDNN reaches 96-106 GFLOP/s single-threaded). */
export const CORE_PEAK_GFLOPS = 100;

export function milestoneMet(m: Milestone, r: { median_ms: number; gflops: number | null }): boolean {
  if (m.maxMs !== undefined) return r.median_ms <= m.maxMs;
  if (m.minGflops !== undefined) return r.gflops !== null && r.gflops > m.minGflops;
  return false;
}
