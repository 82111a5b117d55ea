/**
 * Several metrics for several attribution methods on one model and one set of images: per image
 * values, their mean with a 95% interval, the time per explanation, and the mean perturbation
 * curves (for plots). The CLI's `lrp-tape evaluate` is a thin layer over this.
 */
import type { Tensor } from '../engine/index.js';
import * as E from '../engine/index.js';
import type { Module } from '../nn/index.js';
import { checkImages, checkMasks, checkTargets } from './checks.js';
import { EvaluationConfigError, EvaluationError } from './errors.js';
import { relevanceMassAccuracy, sparseness, channelSum } from './localisation.js';
import { modelClasses, type AttributionMethod } from './methods.js';
import { pixelFlipping, type PerturbationOptions } from './perturbation.js';
import { localLipschitzEstimate, type ContinuityOptions } from './continuity.js';
import { cascadingRandomisation, parameterisedLayers, type RandomisationOptions } from './randomisation.js';
import { summarize, type Summary } from './stats.js';

export const METRIC_NAMES = [
  'pixel_flipping_morf_auc',
  'pixel_flipping_lerf_auc',
  'pixel_flipping_gap',
  'relevance_mass_accuracy',
  'randomisation_spearman_last',
  'sparseness',
  'relevance_sum',
  'local_lipschitz_estimate',
] as const;
export type MetricName = (typeof METRIC_NAMES)[number];

export const DEFAULT_METRICS: readonly MetricName[] = [
  'pixel_flipping_morf_auc', 'pixel_flipping_lerf_auc', 'pixel_flipping_gap', 'relevance_mass_accuracy', 'randomisation_spearman_last', 'sparseness',
];

export function checkMetricNames(names: readonly string[]): MetricName[] {
  for (const n of names) {
    if (!(METRIC_NAMES as readonly string[]).includes(n)) throw new EvaluationConfigError(`unknown metric '${n}' (known: ${METRIC_NAMES.join(', ')})`);
  }
  return names as MetricName[];
}

export interface EvaluationData {
  /** [N, C, H, W] images. */
  x: Tensor;
  /** The class to explain per image. */
  targets: ArrayLike<number>;
  /** 0/1 ground-truth region, [H, W] shared or [N, H, W]; needed by relevance_mass_accuracy. */
  masks?: ArrayLike<number>;
}

export interface EvaluateOptions {
  metrics?: readonly string[];
  perturbation?: Omit<PerturbationOptions, 'onProgress'>;
  randomisation?: Omit<RandomisationOptions, 'onProgress'>;
  continuity?: Omit<ContinuityOptions, 'onProgress'>;
  /** Images explained together. Default 50. */
  batchSize?: number;
  /** Called with a phase label and overall work units done / total. */
  onProgress?: (done: number, total: number, label: string) => void;
}

export interface MethodEvaluation {
  metrics: Partial<Record<MetricName, { values: number[]; summary: Summary }>>;
  /** Wall-clock seconds of `explain` per image (after one untimed warm-up explanation). */
  secondsPerExplanation: number;
  /** Mean perturbation curves over the images (present with a pixel-flipping metric). */
  curves?: { morf: number[]; lerf: number[] };
  /** Mean Spearman correlation after each cascading step (present with randomisation_spearman_last). */
  randomisation?: { layers: string[]; mean: number[] };
}

export interface Evaluation {
  images: number;
  metrics: MetricName[];
  methods: Record<string, MethodEvaluation>;
}

const meanCurve = (cs: Float64Array[]): number[] => Array.from(cs[0] ?? [], (_, k) => cs.reduce((a, c) => a + c[k]!, 0) / cs.length);

export function evaluateMethods(model: Module, data: EvaluationData, methods: readonly AttributionMethod[], opts: EvaluateOptions = {}): Evaluation {
  const metrics = checkMetricNames(opts.metrics ?? DEFAULT_METRICS);
  const [N, , H, W] = checkImages(data.x);
  const classes = modelClasses(model, data.x);
  checkTargets(data.targets, N, classes);
  if (metrics.includes('relevance_mass_accuracy')) {
    if (!data.masks) throw new EvaluationError('relevance_mass_accuracy needs a mask of the ground-truth region');
    checkMasks(data.masks, N, H, W);
  }
  const names = methods.map((m) => m.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new EvaluationError(`method '${dup}' is listed twice`);
  const bs = opts.batchSize ?? 50;
  const hw = H * W;
  const wantPf = metrics.some((m) => m.startsWith('pixel_flipping'));
  const wantRand = metrics.includes('randomisation_spearman_last');
  const layers = wantRand ? parameterisedLayers(model).length : 0;
  const wantLip = metrics.includes('local_lipschitz_estimate');
  const perBatch = 1 + (wantPf ? 1 : 0) + layers + (wantLip ? 1 : 0);
  const total = methods.length * Math.ceil(N / bs) * perBatch;
  let done = 0;
  const tick = (label: string, units = 1) => {
    done += units;
    opts.onProgress?.(done, total, label);
  };
  const out: Record<string, MethodEvaluation> = {};
  for (const method of methods) {
    const values: Partial<Record<MetricName, number[]>> = {};
    const push = (m: MetricName, vs: number[]) => {
      if (metrics.includes(m)) (values[m] ??= []).push(...vs);
    };
    const morf: Float64Array[] = [];
    const lerf: Float64Array[] = [];
    const randSum: number[] = [];
    let randLayers: string[] = [];
    let seconds = 0;
    // One untimed explanation first, so the time per explanation leaves out JIT warm-up and first-use caches.
    method.explain(model, E.slice(data.x.detach(), [[0, 1]]), [data.targets[0]!]);
    for (let s = 0; s < N; s += bs) {
      const e = Math.min(N, s + bs);
      const x = E.slice(data.x.detach(), [[s, e]]);
      const t = Int32Array.from({ length: e - s }, (_, i) => data.targets[s + i]!);
      const t0 = performance.now();
      const rel = method.explain(model, x, t);
      seconds += (performance.now() - t0) / 1000;
      tick(`${method.name}: explain`);
      if (metrics.includes('relevance_mass_accuracy')) {
        const m = data.masks!;
        const mask = m.length === hw ? m : Array.prototype.slice.call(m, s * hw, e * hw) as number[];
        push('relevance_mass_accuracy', relevanceMassAccuracy(rel, mask));
      }
      push('sparseness', sparseness(rel));
      push('relevance_sum', channelSum(rel).map((p) => p.reduce((a, b) => a + b, 0)));
      if (wantPf) {
        const pf = pixelFlipping(model, x, t, rel, opts.perturbation);
        push('pixel_flipping_morf_auc', pf.morfAuc);
        push('pixel_flipping_lerf_auc', pf.lerfAuc);
        push('pixel_flipping_gap', pf.gap);
        morf.push(...pf.morf);
        lerf.push(...pf.lerf);
        tick(`${method.name}: pixel flipping`);
      }
      if (wantLip) {
        push('local_lipschitz_estimate', localLipschitzEstimate(model, x, t, method, opts.continuity));
        tick(`${method.name}: continuity`);
      }
      if (wantRand) {
        const r = cascadingRandomisation(model, x, t, method, { ...opts.randomisation, onProgress: () => tick(`${method.name}: randomisation`) });
        randLayers = r.layers;
        push('randomisation_spearman_last', r.spearman[r.spearman.length - 1]!);
        r.spearman.forEach((row, l) => (randSum[l] = (randSum[l] ?? 0) + row.reduce((a, b) => a + (Number.isNaN(b) ? 0 : b), 0)));
      }
    }
    const res: MethodEvaluation = { metrics: {}, secondsPerExplanation: seconds / N };
    for (const m of metrics) res.metrics[m] = { values: values[m] ?? [], summary: summarize(values[m] ?? []) };
    if (wantPf) res.curves = { morf: meanCurve(morf), lerf: meanCurve(lerf) };
    if (wantRand) res.randomisation = { layers: randLayers, mean: randSum.map((v) => v / N) };
    out[method.name] = res;
  }
  return { images: N, metrics, methods: out };
}
