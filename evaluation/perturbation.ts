/**
 * Pixel flipping / region perturbation (Bach et al. 2015; Samek et al. 2017): replace the image's
 * patches in the order the relevance ranks them, most relevant first (MoRF) or least relevant first
 * (LeRF), and record the target's score after each step. A faithful explanation makes the MoRF
 * curve fall fast and the LeRF curve stay high, so LeRF AUC - MoRF AUC is large; a random ranking
 * gives the two curves the same expectation, so its gap is near zero.
 *
 * The perturbed inputs of all images and steps are independent forwards, so they are built lazily
 * and run through the model in batches without recording.
 */
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import type { Forward } from '../attribution/index.js';
import { EvaluationConfigError } from './errors.js';
import { auc } from './stats.js';
import { modelClasses, predict } from './methods.js';
import { checkImages, checkRelevance, checkTargets } from './checks.js';

export type Baseline = 'zero' | 'mean' | 'blur' | 'uniform';
export const BASELINES: readonly Baseline[] = ['zero', 'mean', 'blur', 'uniform'];
export type Score = 'probability' | 'logit';

export interface PerturbationOptions {
  /** Side of the square patches replaced together (the last row/column of patches may be smaller). Default 1 (pixels). */
  patch?: number;
  /** Number of steps from 0 to all patches replaced; the curve has steps + 1 points. Default 20. */
  steps?: number;
  /** What a replaced pixel becomes. Default 'zero'. */
  baseline?: Baseline;
  /** Gaussian sigma (pixels) of the 'blur' baseline. Default 2. */
  blurSigma?: number;
  /** Seed of the 'uniform' baseline's noise. Default 0. */
  seed?: number;
  /** The recorded score: softmax probability of the target (default) or its logit. */
  score?: Score;
  /** Perturbed inputs per forward. Default 64. */
  batchSize?: number;
  /** Called after each batch of forwards (for progress bars). */
  onProgress?: (done: number, total: number) => void;
}

export interface PerturbationResult {
  /** Per image: steps + 1 scores, fraction of patches replaced = k / steps. */
  morf: Float64Array[];
  lerf: Float64Array[];
  morfAuc: number[];
  lerfAuc: number[];
  /** Per image: lerfAuc - morfAuc. */
  gap: number[];
}

function checkOptions(o: PerturbationOptions): Required<Omit<PerturbationOptions, 'onProgress'>> {
  const patch = o.patch ?? 1;
  const steps = o.steps ?? 20;
  const baseline = o.baseline ?? 'zero';
  const score = o.score ?? 'probability';
  const batchSize = o.batchSize ?? 64;
  const blurSigma = o.blurSigma ?? 2;
  if (!Number.isInteger(patch) || patch < 1) throw new EvaluationConfigError(`pixel flipping: patch must be a positive integer, got ${patch}`);
  if (!Number.isInteger(steps) || steps < 1) throw new EvaluationConfigError(`pixel flipping: steps must be a positive integer, got ${steps}`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new EvaluationConfigError(`pixel flipping: batchSize must be a positive integer, got ${batchSize}`);
  if (!BASELINES.includes(baseline)) throw new EvaluationConfigError(`pixel flipping: unknown baseline '${String(baseline)}' (known: ${BASELINES.join(', ')})`);
  if (score !== 'probability' && score !== 'logit') throw new EvaluationConfigError(`pixel flipping: score must be 'probability' or 'logit', got '${String(score)}'`);
  if (!(blurSigma > 0)) throw new EvaluationConfigError(`pixel flipping: blurSigma must be positive, got ${blurSigma}`);
  return { patch, steps, baseline, score, batchSize, blurSigma, seed: o.seed ?? 0 };
}

/** Separable Gaussian blur of one [C, H, W] image, edges clamped. */
export function gaussianBlur(img: ArrayLike<number>, C: number, H: number, W: number, sigma: number): Float64Array {
  const r = Math.ceil(3 * sigma);
  const k = Array.from({ length: 2 * r + 1 }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)));
  const ks = k.reduce((a, b) => a + b, 0);
  const kn = k.map((v) => v / ks);
  const tmp = new Float64Array(C * H * W);
  const out = new Float64Array(C * H * W);
  for (let c = 0; c < C; c++) {
    const o = c * H * W;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        let s = 0;
        for (let d = -r; d <= r; d++) s += kn[d + r]! * img[o + y * W + Math.min(W - 1, Math.max(0, x + d))]!;
        tmp[o + y * W + x] = s;
      }
    }
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        let s = 0;
        for (let d = -r; d <= r; d++) s += kn[d + r]! * tmp[o + Math.min(H - 1, Math.max(0, y + d)) * W + x]!;
        out[o + y * W + x] = s;
      }
    }
  }
  return out;
}

/** The replacement image for one [C, H, W] input. */
export function baselineImage(img: ArrayLike<number>, C: number, H: number, W: number, baseline: Baseline, opts: { blurSigma?: number; rng?: E.Rng } = {}): Float64Array {
  const hw = H * W;
  const out = new Float64Array(C * hw);
  if (baseline === 'zero') return out;
  if (baseline === 'mean') {
    for (let c = 0; c < C; c++) {
      let s = 0;
      for (let p = 0; p < hw; p++) s += img[c * hw + p]!;
      out.fill(s / hw, c * hw, (c + 1) * hw);
    }
    return out;
  }
  if (baseline === 'blur') return gaussianBlur(img, C, H, W, opts.blurSigma ?? 2);
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < img.length; i++) {
    lo = Math.min(lo, img[i]!);
    hi = Math.max(hi, img[i]!);
  }
  const rng = opts.rng ?? new E.Rng(0);
  for (let i = 0; i < out.length; i++) out[i] = lo + (hi - lo) * rng.uniform();
  return out;
}

/** Patch index of every pixel, and the number of patches. */
function patchGrid(H: number, W: number, patch: number): { of: Int32Array; count: number } {
  const cols = Math.ceil(W / patch);
  const of = new Int32Array(H * W);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) of[y * W + x] = Math.floor(y / patch) * cols + Math.floor(x / patch);
  return { of, count: Math.ceil(H / patch) * cols };
}

/** Patches of one image, most relevant first (relevance summed over channels and the patch's pixels). */
export function patchOrder(rel: ArrayLike<number>, C: number, H: number, W: number, patch: number): Int32Array {
  const { of, count } = patchGrid(H, W, patch);
  const score = new Float64Array(count);
  const hw = H * W;
  for (let c = 0; c < C; c++) for (let p = 0; p < hw; p++) score[of[p]!] = score[of[p]!]! + rel[c * hw + p]!;
  // Stable sort: ties keep raster order, so the order is reproducible.
  return Int32Array.from(Array.from({ length: count }, (_, i) => i).sort((a, b) => score[b]! - score[a]!));
}

/**
 * Pixel flipping of one batch: `x` [N, C, H, W], one target class per image, relevance shaped
 * like `x` (or [N, 1, H, W]). Returns the MoRF and LeRF curves, their AUCs (trapezoid over the
 * fraction replaced in [0, 1]) and the gap per image.
 */
export function pixelFlipping(model: Forward, x: Tensor, targets: ArrayLike<number>, relevance: Tensor, opts: PerturbationOptions = {}): PerturbationResult {
  const o = checkOptions(opts);
  const [N, C, H, W] = checkImages(x);
  const relC = checkRelevance(relevance, x);
  const classes = modelClasses(model, x);
  checkTargets(targets, N, classes);
  const hw = H * W;
  const per = C * hw;
  const { of, count } = patchGrid(H, W, o.patch);
  const pixelsOf: number[][] = Array.from({ length: count }, () => []);
  for (let p = 0; p < hw; p++) pixelsOf[of[p]!]!.push(p);
  const removedAt = (k: number) => Math.round((k * count) / o.steps);
  const xs = x.detach().data;
  const rng = new E.Rng(o.seed);
  const images = Array.from({ length: N }, (_, i) => {
    const img = xs.subarray(i * per, (i + 1) * per);
    const base = baselineImage(img, C, H, W, o.baseline, { blurSigma: o.blurSigma, rng });
    const order = patchOrder(relevance.data.subarray(i * relC * hw, (i + 1) * relC * hw), relC, H, W, o.patch);
    return { img, base, morf: order, lerf: order.slice().reverse() };
  });
  // Jobs: (image, direction, step); each is one perturbed input.
  const jobs: { i: number; dir: 'morf' | 'lerf'; k: number }[] = [];
  for (let i = 0; i < N; i++) for (const dir of ['morf', 'lerf'] as const) for (let k = 0; k <= o.steps; k++) jobs.push({ i, dir, k });
  const curves = { morf: images.map(() => new Float64Array(o.steps + 1)), lerf: images.map(() => new Float64Array(o.steps + 1)) };
  const dtype = x.dtype as 'float32' | 'float64';
  for (let s = 0; s < jobs.length; s += o.batchSize) {
    const chunk = jobs.slice(s, s + o.batchSize);
    const buf = dtype === 'float64' ? new Float64Array(chunk.length * per) : new Float32Array(chunk.length * per);
    chunk.forEach(({ i, dir, k }, b) => {
      const { img, base } = images[i]!;
      const order = images[i]![dir];
      const dst = b * per;
      buf.set(img, dst);
      for (let j = 0; j < removedAt(k); j++) {
        for (const p of pixelsOf[order[j]!]!) for (let c = 0; c < C; c++) buf[dst + c * hw + p] = base[c * hw + p]!;
      }
    });
    let out = predict(model, new E.Tensor(buf, [chunk.length, C, H, W]));
    if (o.score === 'probability') out = E.softmax(out, 1);
    const K = out.shape[1]!;
    chunk.forEach(({ i, dir, k }, b) => {
      curves[dir][i]![k] = out.data[b * K + targets[i]!]!;
    });
    opts.onProgress?.(Math.min(s + o.batchSize, jobs.length), jobs.length);
  }
  const morfAuc = curves.morf.map((c) => auc(c));
  const lerfAuc = curves.lerf.map((c) => auc(c));
  return { ...curves, morfAuc, lerfAuc, gap: lerfAuc.map((l, i) => l - morfAuc[i]!) };
}
