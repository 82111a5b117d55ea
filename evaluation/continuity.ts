/**
 * Continuity of an explanation (Montavon et al. 2018, "Methods for interpreting and understanding
 * deep neural networks", Digital Signal Processing 73, section 7.1), estimated as Alvarez-Melis &
 * Jaakkola 2018 do ("On the robustness of interpretability methods", ICML WHI workshop; "Towards
 * robust interpretability with self-explaining neural networks", NeurIPS): the local Lipschitz
 * estimate
 *
 *   L(x) = max over x' near x of ||R(x) - R(x')||_2 / ||x - x'||_2,
 *
 * the maximum taken over a few random neighbours x' = x + noise, all explained for x's target. An
 * explanation that jumps under an imperceptible change of the input scores high; lower is better.
 * By default both maps are divided by max |R(x)|, so that methods whose maps differ in scale
 * compare (`relative: false` gives the raw constant).
 */
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import { checkImages, checkRelevance, checkTargets } from './checks.js';
import { EvaluationConfigError } from './errors.js';
import { modelClasses, type AttributionMethod } from './methods.js';
import type { Forward } from '../attribution/index.js';

export interface ContinuityOptions {
  /** Random neighbours per image; the estimate is the maximum over them. Default 10. */
  samples?: number;
  /** Standard deviation of the Gaussian noise as a share of the image's value range (max - min). Default 0.1. */
  noiseLevel?: number;
  /** Seed of the noise. Default 0. */
  seed?: number;
  /** Divide by max |R(x)| of the unperturbed map (one constant per image, so the estimate stays a Lipschitz constant). Default true. */
  relative?: boolean;
  /** Called after each neighbour batch is explained. */
  onProgress?: (done: number, total: number) => void;
}

function checkOptions(o: ContinuityOptions): { samples: number; noiseLevel: number; seed: number; relative: boolean } {
  const samples = o.samples ?? 10;
  const noiseLevel = o.noiseLevel ?? 0.1;
  if (!Number.isInteger(samples) || samples < 1) throw new EvaluationConfigError(`local Lipschitz estimate: samples must be a positive integer, got ${samples}`);
  if (!(noiseLevel > 0) || !Number.isFinite(noiseLevel)) throw new EvaluationConfigError(`local Lipschitz estimate: noiseLevel must be a positive number, got ${noiseLevel}`);
  return { samples, noiseLevel, seed: o.seed ?? 0, relative: o.relative ?? true };
}

/**
 * Per image of `x` [N, C, H, W]: the largest ||R(x) - R(x')||_2 / ||x - x'||_2 over `samples`
 * noisy neighbours, divided by max |R(x)| unless `relative` is false (an all-zero map then gives 0
 * when its neighbours are zero too, and Infinity when they are not).
 */
export function localLipschitzEstimate(model: Forward, x: Tensor, targets: ArrayLike<number>, method: AttributionMethod, opts: ContinuityOptions = {}): number[] {
  const o = checkOptions(opts);
  const [N, C, H, W] = checkImages(x);
  checkTargets(targets, N, modelClasses(model, x));
  const per = C * H * W;
  const xs = x.detach();
  const r0 = method.explain(model, xs, targets);
  const relC = checkRelevance(r0, xs);
  const rper = relC * H * W;
  // The noise scale follows each image's range, as SmoothGrad's noise level does; a constant image gets the level itself.
  const sigma = Array.from({ length: N }, (_, i) => {
    let lo = Infinity;
    let hi = -Infinity;
    for (let j = i * per; j < (i + 1) * per; j++) {
      lo = Math.min(lo, xs.data[j]!);
      hi = Math.max(hi, xs.data[j]!);
    }
    return o.noiseLevel * (hi > lo ? hi - lo : 1);
  });
  const scale = Array.from({ length: N }, (_, i) => {
    if (!o.relative) return 1;
    let m = 0;
    for (let j = i * rper; j < (i + 1) * rper; j++) m = Math.max(m, Math.abs(r0.data[j]!));
    return m;
  });
  const rng = new E.Rng(o.seed);
  const best = new Array<number>(N).fill(0);
  for (let s = 0; s < o.samples; s++) {
    const buf = xs.dtype === 'float64' ? new Float64Array(N * per) : new Float32Array(N * per);
    for (let i = 0; i < N; i++) for (let j = i * per; j < (i + 1) * per; j++) buf[j] = xs.data[j]! + sigma[i]! * rng.normal();
    const xn = new E.Tensor(buf, xs.shape);
    const rn = method.explain(model, xn, targets);
    checkRelevance(rn, xs);
    for (let i = 0; i < N; i++) {
      // Distances from the stored (possibly float32-rounded) neighbour, so the ratio uses the input the model saw.
      let dx = 0;
      for (let j = i * per; j < (i + 1) * per; j++) dx += (buf[j]! - xs.data[j]!) ** 2;
      let dr = 0;
      for (let j = i * rper; j < (i + 1) * rper; j++) dr += (rn.data[j]! - r0.data[j]!) ** 2;
      if (dx > 0 && dr > 0) best[i] = Math.max(best[i]!, Math.sqrt(dr / dx) / scale[i]!);
    }
    opts.onProgress?.(s + 1, o.samples);
  }
  return best;
}
