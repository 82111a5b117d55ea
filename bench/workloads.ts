/**
 * The benchmark workloads: raw GEMM and convolution, ResNet-18 / VGG-16 forward, gradient and LRP,
 * and the rest `--list` prints. Every workload is float32, batch 1 unless named, random weights from
 * a seeded Rng, models in eval mode. `setup()` builds everything that is not timed (models, inputs,
 * canonized views) and returns `run`, the timed body. FLOPs are counted analytically (2*M*N*K per
 * GEMM, 2*N*O*OH*OW*(C/g)*KH*KW per conv) and only where a FLOP rate means something.
 */
import * as E from '../engine/index.js';
import type { Tensor, LayerRecord } from '../engine/index.js';
import { resnet18, vgg16, VisionTransformer } from '../models/index.js';
import { Sequential, Conv2d, ReLU, MaxPool2d, Flatten, Linear, type Module } from '../nn/index.js';
import { canonize, resnetCanonizer } from '../canonizers/index.js';
import type { Composite } from '../composites/index.js';
import { epsilonPlusFlat, epsilonGammaBox, attnLrp } from '../composites/index.js';
import { recordForward, oneHotSeed, type Forward } from '../attribution/index.js';
import { runKernelBench, type KernelBenchResult } from './kernels.js';
import { pixelFlipping } from '../evaluation/index.js';

export interface WorkloadContext {
  /** Timed runs the workload will get (runKernelBench uses the same count for its side numbers). */
  runs: number;
  /** Freeze the model's parameters (requireGrad(false)) in the gradient / LRP workloads. */
  frozen: boolean;
  /** Skip the side measurements (raw kernel numbers). */
  quick: boolean;
  log: (line: string) => void;
}

export interface Prepared {
  /** The timed body. */
  run: () => void;
  /** Analytic FLOPs of one run, when a FLOP rate is meaningful. */
  flops?: number;
  /** What the FLOP count covers. */
  flopsNote?: string;
  /** Extra fields for the JSON line (e.g. raw kernel GFLOP/s), computed after setup. */
  extra?: Record<string, unknown>;
  /**
   * LRP workloads only (bench/profile.ts, bench/breakdown.ts): one run split into the recorded
   * forward and the attribution, with `onLayer` called as each layer's relevance is final. Each
   * phase's body runs inside `phase` when given (a profiler's timers wrap one phase).
   */
  explain?: (onLayer: (layer: LayerRecord) => void, phase?: PhaseWrapper) => {
    forwardMs: number;
    attributeMs: number;
    /** EGL: the gradient of sum(R^2) w.r.t. the parameters. */
    extraMs?: number;
    /** The rule each layer got. */
    rules: ReadonlyMap<LayerRecord, { name: string }>;
  };
}

/** The phases of one explanation: the recorded forward, the LRP backward, and (EGL) the gradient of sum(R^2). */
export type Phase = 'forward' | 'attribute' | 'second';
export type PhaseWrapper = <T>(name: Phase, body: () => T) => T;
const plainPhase: PhaseWrapper = (_name, body) => body();

export interface Workload {
  name: string;
  description: string;
  /** Default timed runs: at least 5 so the median means something; the two heaviest workloads get fewer (README). */
  runs: number;
  /** Timed runs with --quick. */
  quickRuns: number;
  /** Untimed warm-up runs. */
  warmup: number;
  /** Warm-up runs with --quick (default: `warmup`). */
  quickWarmup?: number;
  /**
   * Heavy workloads: the timed runs (unless --runs is given) are cut to what fits this many
   * milliseconds at the warm-up's speed, at least one.
   */
  budgetMs?: number;
  /** Takes tens of seconds per run with the TypeScript kernels: fewer default runs (see README). */
  heavy?: boolean;
  /** After the timed runs, two more runs split into phases with the second backward's top ops (bench/breakdown.ts). */
  breakdown?: boolean;
  setup(ctx: WorkloadContext): Prepared | Promise<Prepared>;
}

const f32 = { dtype: 'float32' as const };

/**
 * The ResNet-18 and small-CNN workloads take well under a second: 3 warm-up runs (the first runs
 * after the JIT warm-up still grow the heap and are 20-60% slower) and 9 timed ones.
 */
const SUB_SECOND_RUNS = { runs: 9, quickRuns: 3, warmup: 3 } as const;

/** Runs of several seconds each: 3 timed after 1 warm-up, cut to a 150 s budget (see README). */
const HEAVY_RUNS = { runs: 3, quickRuns: 1, warmup: 1, quickWarmup: 0, budgetMs: 150_000, heavy: true } as const;

/** Analytic FLOPs of the Convolution and Dense layers of one forward pass (batch included). */
export function modelForwardFlops(model: { call(x: Tensor): Tensor }, x: Tensor): { flops: number; convs: number; dense: number } {
  const xi = x.detach().requireGrad();
  const { recording } = E.record(() => model.call(xi));
  let flops = 0;
  let convs = 0;
  let dense = 0;
  for (const l of recording.layers) {
    const w = l.params.weight;
    if (!w) continue;
    if (l.kind === 'Convolution') {
      // 2 * N*O*OH*OW * (C/g)*KH*KW: every output element is a dot product of one filter's size.
      flops += 2 * l.output.size * (w.size / w.shape[0]!);
      convs++;
    } else if (l.kind === 'Dense') {
      flops += 2 * l.output.size * w.shape[w.ndim - 1]!;
      dense++;
    }
  }
  return { flops, convs, dense };
}

function kernelNumbers(ctx: WorkloadContext, gemmSizes: number[], ops: string[]): Record<string, unknown> {
  if (ctx.quick) return {};
  const res: KernelBenchResult[] = runKernelBench({ gemmSizes, runs: Math.max(3, Math.min(ctx.runs, 5)), warmup: 1, referenceMaxSize: 0, referenceConv: false });
  const out: Record<string, unknown> = {};
  for (const r of res) {
    if (r.impl !== 'fast' || !ops.includes(r.op)) continue;
    if (r.op === 'gemm' && !gemmSizes.some((n) => r.shape === `${n}x${n}x${n}`)) continue;
    out[`kernel_${r.op.replace(/-/g, '_')}_gflops`] = Number(r.gflops.toFixed(3));
    out[`kernel_${r.op.replace(/-/g, '_')}_median_ms`] = Number(r.medianMs.toFixed(3));
  }
  return out;
}

function gemmWorkload(n: number): Workload {
  return {
    name: `gemm-${n}`,
    description: `${n}x${n} @ ${n}x${n} through E.matmul (engine op), float32`,
    runs: 5,
    quickRuns: 5,
    warmup: 2,
    setup(ctx) {
      const rng = new E.Rng(n);
      const a = E.randn([n, n], { ...f32, rng });
      const b = E.randn([n, n], { ...f32, rng });
      const extra = kernelNumbers(ctx, [n], ['gemm']);
      return { run: () => void E.matmul(a, b), flops: 2 * n * n * n, flopsNote: '2*M*N*K', extra };
    },
  };
}

const CONV_NOTE = '2*N*O*OH*OW*C/g*KH*KW';

function convSetup(backward: boolean) {
  return (ctx: WorkloadContext): Prepared => {
    const rng = new E.Rng(56);
    const x = E.randn([1, 64, 56, 56], { ...f32, rng });
    // kaiming-like scale so the values stay O(1)
    const w = E.mul(E.randn([64, 64, 3, 3], { ...f32, rng }), Math.sqrt(2 / (64 * 9)));
    const flops = 2 * 1 * 64 * 56 * 56 * 64 * 3 * 3;
    if (!backward) {
      const extra = kernelNumbers(ctx, [], ['conv2d-forward']);
      return { run: () => void E.conv2d(x, w, null, { padding: 1 }), flops, flopsNote: CONV_NOTE, extra };
    }
    const xg = x.detach().requireGrad();
    const wg = w.detach().requireGrad();
    const y = E.conv2d(xg, wg, null, { padding: 1 });
    const gy = E.randn(y.shape, { ...f32, rng });
    const extra = kernelNumbers(ctx, [], ['conv2d-backward-input', 'conv2d-backward-weight']);
    return {
      // The forward is recorded once (untimed); each run is the backward alone.
      run: () => void E.grad(y, [xg, wg], { gradOutputs: gy, retainGraph: true }),
      flops: 2 * flops,
      flopsNote: `input grad + weight grad, each ${CONV_NOTE}`,
      extra,
    };
  };
}

function prepModel<M extends Module>(m: M, ctx: WorkloadContext): M {
  m.eval();
  if (ctx.frozen) m.requireGrad(false);
  return m;
}

/** The predicted class of each row, as a one-hot seed. */
function predictedSeed(output: Tensor): Tensor {
  const t = E.argmax(output, 1);
  return oneHotSeed(output, Array.from(t.data as ArrayLike<number>));
}

function resnetInput(): { model: Module & { call(x: Tensor): Tensor }; x: Tensor } {
  const rng = new E.Rng(18);
  const model = resnet18({ rng });
  const x = E.randn([1, 3, 224, 224], { ...f32, rng: new E.Rng(224) });
  return { model, x };
}

export function smallCnn(rng: E.Rng): Sequential {
  const o = { rng };
  return new Sequential(
    new Conv2d(3, 32, 3, { padding: 1, ...o }), new ReLU(),
    new Conv2d(32, 32, 3, { padding: 1, ...o }), new ReLU(),
    new MaxPool2d(2),
    new Conv2d(32, 64, 3, { padding: 1, ...o }), new ReLU(),
    new Conv2d(64, 64, 3, { padding: 1, ...o }), new ReLU(),
    new MaxPool2d(2),
    new Flatten(),
    new Linear(4096, 256, o), new ReLU(),
    new Linear(256, 10, o),
  );
}

const ms = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;

/**
 * Forward record + attribute with `composite` (and, for EGL, the gradient of sum(R^2) w.r.t.
 * `params` through the recorded backward).
 */
function lrpPrepared(model: Forward, x: Tensor, composite: Composite, egl?: { params: Tensor[] }): Prepared {
  const createGraph = egl !== undefined;
  const finish = (relevance: Tensor): void => {
    if (egl) E.grad(E.sum(E.mul(relevance, relevance)), egl.params, { allowUnused: true });
  };
  return {
    run: () => {
      const rec = recordForward(model, x);
      finish(rec.attribute(predictedSeed(rec.output), { composite, createGraph }).relevance);
    },
    explain: (onLayer, phase = plainPhase) => {
      let t0 = process.hrtime.bigint();
      const rec = phase('forward', () => recordForward(model, x));
      const forwardMs = ms(t0);
      t0 = process.hrtime.bigint();
      const { relevance, rules } = phase('attribute', () => rec.attribute(predictedSeed(rec.output), { composite, createGraph, onLayer }));
      const attributeMs = ms(t0);
      t0 = process.hrtime.bigint();
      phase('second', () => finish(relevance));
      return { forwardMs, attributeMs, rules, ...(egl ? { extraMs: ms(t0) } : {}) };
    },
  };
}

export const WORKLOADS: readonly Workload[] = [
  gemmWorkload(256),
  gemmWorkload(512),
  gemmWorkload(1024),
  {
    name: 'conv-64x56',
    description: 'conv2d 64->64 3x3 pad 1 on 1x64x56x56, forward',
    runs: 5,
    quickRuns: 5,
    warmup: 2,
    setup: convSetup(false),
  },
  {
    name: 'conv-64x56-backward',
    description: 'conv2d 64->64 3x3 pad 1 on 1x64x56x56: input and weight gradients (backward only)',
    runs: 5,
    quickRuns: 5,
    warmup: 2,
    setup: convSetup(true),
  },
  {
    name: 'resnet18-forward',
    description: 'ResNet-18 forward, 1x3x224x224, inference (noGrad)',
    ...SUB_SECOND_RUNS,
    setup() {
      const { model, x } = resnetInput();
      model.eval();
      const { flops } = modelForwardFlops(model, x);
      return { run: () => void E.noGrad(() => model.call(x)), flops, flopsNote: 'conv + linear layers' };
    },
  },
  {
    name: 'resnet18-gradient',
    description: 'ResNet-18 forward + input gradient (seed: one-hot of the predicted class), 1x3x224x224',
    ...SUB_SECOND_RUNS,
    setup(ctx) {
      const { model, x } = resnetInput();
      prepModel(model, ctx);
      const { flops } = modelForwardFlops(model, x);
      return {
        run: () => {
          const xi = x.detach().requireGrad();
          const y = model.call(xi);
          E.grad(y, xi, { gradOutputs: predictedSeed(y) });
        },
        flops: 2 * flops,
        flopsNote: 'forward + input-gradient convs/linears (weight gradients the engine may also compute are not counted)',
      };
    },
  },
  {
    name: 'resnet18-lrp',
    description: 'ResNet-18 epsilon_plus_flat with the ResNet canonizer: forward record + attribute, 1x3x224x224',
    ...SUB_SECOND_RUNS,
    setup(ctx) {
      const { model, x } = resnetInput();
      prepModel(model, ctx);
      return lrpPrepared(canonize(model, [resnetCanonizer()]), x, epsilonPlusFlat());
    },
  },
  {
    name: 'vgg16-lrp',
    description: 'VGG-16 epsilon_gamma_box (low -3, high 3): forward record + attribute, 1x3x224x224',
    ...HEAVY_RUNS,
    setup(ctx) {
      const model = prepModel(vgg16({ rng: new E.Rng(16) }), ctx);
      const x = E.randn([1, 3, 224, 224], { ...f32, rng: new E.Rng(224) });
      return lrpPrepared(model, x, epsilonGammaBox({ low: -3, high: 3 }));
    },
  },
  {
    name: 'vit-tiny-lrp',
    description: 'ViT-Tiny/16 (width 192, 12 blocks of 3 heads) attnlrp: forward record + attribute, 1x3x224x224',
    ...SUB_SECOND_RUNS,
    setup(ctx) {
      const model = prepModel(new VisionTransformer({ imgSize: [224, 224], patchSize: 16, embedDim: 192, depth: 12, numHeads: 3, mlpRatio: 4, numClasses: 1000, rng: new E.Rng(192) }), ctx);
      const x = E.randn([1, 3, 224, 224], { ...f32, rng: new E.Rng(224) });
      return lrpPrepared(model, x, attnLrp());
    },
  },
  {
    name: 'resnet18-egl',
    description: 'ResNet-18: d/d(all weights) of sum(R^2), R = epsilon_plus_flat relevance (canonized), through the double backward',
    ...HEAVY_RUNS,
    breakdown: true,
    setup() {
      // Parameters must require grad here, --frozen or not.
      const { model, x } = resnetInput();
      model.eval();
      return lrpPrepared(canonize(model, [resnetCanonizer()]), x, epsilonPlusFlat(), { params: model.parameters() });
    },
  },
  {
    name: 'resnet18-pixel-flipping',
    description: 'ResNet-18 pixel flipping of one 1x3x224x224 image: MoRF and LeRF, 100 steps each (202 forwards, batches of 16), 16x16 patches, zero baseline; epsilon_plus_flat relevance computed in setup',
    ...HEAVY_RUNS,
    setup(ctx) {
      const { model, x } = resnetInput();
      prepModel(model, ctx);
      const view = canonize(model, [resnetCanonizer()]);
      const rec = recordForward(view, x);
      const target = Array.from(E.argmax(rec.output, 1).data as ArrayLike<number>);
      const { relevance } = rec.attribute(predictedSeed(rec.output), { composite: epsilonPlusFlat() });
      return {
        run: () => void pixelFlipping(model, x, target, relevance, { steps: 100, patch: 16, batchSize: 16 }),
        // Not measured here: Quantus runs one forward per step and curve. PyTorch's forward is taken as a
        // third of its forward + LRP backward (bench/yardsticks.ts: 261 ms with 2 threads), ~87 ms.
        extra: { quantusEstimateMs: Math.round(202 * (261 / 3)), quantusEstimateNote: '202 forwards x ~87 ms (1/3 of PyTorch+zennit LRP, 2 threads); an estimate, not a measurement' },
      };
    },
  },
  {
    name: 'smallcnn-b64-lrp',
    description: 'small CNN (conv 3->32->32, pool, 32->64->64, pool, linear 4096->256->10), 64x3x32x32, epsilon_plus_flat',
    ...SUB_SECOND_RUNS,
    setup(ctx) {
      const model = prepModel(smallCnn(new E.Rng(32)), ctx);
      const x = E.randn([64, 3, 32, 32], { ...f32, rng: new E.Rng(64) });
      return lrpPrepared(model, x, epsilonPlusFlat());
    },
  },
];

export function findWorkload(name: string): Workload | undefined {
  return WORKLOADS.find((w) => w.name === name);
}
