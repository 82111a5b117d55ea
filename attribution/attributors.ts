import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import type { Composite } from '../composites/index.js';
import { recordForward, runForward, ExplainError, type Forward, type Seed } from './explain.js';

export interface AttributorOptions {
  composite?: Composite | null;
  /** Default: the output itself (zennit's default attr_output). */
  seed?: Seed;
  createGraph?: boolean;
}

export interface AttributorResult {
  output: Tensor;
  relevance: Tensor;
}

const defaultSeed: Seed = (out) => out.detach();

function seedTensor(seed: Seed, output: Tensor): Tensor {
  return typeof seed === 'function' ? seed(output) : seed;
}

/** The (modified) gradient of <output, seed> w.r.t. the input. */
export function gradientAttribution(model: Forward, input: Tensor, opts: AttributorOptions = {}): AttributorResult {
  const rec = recordForward(model, input);
  const { relevance } = rec.attribute(opts.seed ?? defaultSeed, { composite: opts.composite, createGraph: opts.createGraph });
  return { output: rec.output, relevance };
}

export interface SmoothGradOptions extends AttributorOptions {
  noiseLevel?: number;
  nIter?: number;
  rng?: E.Rng;
}

/** SmoothGrad: mean over noisy copies (sigma = noiseLevel * (max - min) per sample); the last sample is noise-free. */
export function smoothGrad(model: Forward, input: Tensor, opts: SmoothGradOptions = {}): AttributorResult {
  const nIter = opts.nIter ?? 20;
  if (!Number.isInteger(nIter) || nIter < 1) throw new ExplainError(`smoothGrad: nIter must be a positive integer, got ${nIter}`);
  const rng = opts.rng ?? new E.Rng(0);
  const x = input.detach();
  const dims = [...Array(x.ndim).keys()].slice(1);
  const span = E.noGrad(() => E.sub(E.neg(E.max(E.reshape(E.neg(x), [x.shape[0]!, -1]), 1, true)), E.neg(E.max(E.reshape(x, [x.shape[0]!, -1]), 1, true))));
  const std = E.reshape(E.mul(span, opts.noiseLevel ?? 0.1), [x.shape[0]!, ...dims.map(() => 1)]);
  let sum: Tensor | null = null;
  let output: Tensor | null = null;
  for (let n = 0; n < nIter; n++) {
    const noisy = n < nIter - 1 ? E.noGrad(() => E.add(x, E.mul(E.randn(x.shape, { dtype: x.dtype, rng }), std))) : x;
    const r = gradientAttribution(model, noisy, opts);
    output = r.output;
    sum = sum ? E.add(sum, r.relevance) : r.relevance;
  }
  return { output: output!, relevance: E.mul(sum!, 1 / nIter) };
}

export interface IntegratedGradientsOptions extends AttributorOptions {
  baseline?: Tensor | ((x: Tensor) => Tensor);
  nIter?: number;
}

/** Integrated gradients on zennit's path: alphas 1/n, 2/n, ..., 1; mean gradient times (x - baseline). */
export function integratedGradients(model: Forward, input: Tensor, opts: IntegratedGradientsOptions = {}): AttributorResult {
  const nIter = opts.nIter ?? 20;
  if (!Number.isInteger(nIter) || nIter < 1) throw new ExplainError(`integratedGradients: nIter must be a positive integer, got ${nIter}`);
  const x = input.detach();
  const baseline = opts.baseline === undefined ? E.zerosLike(x) : typeof opts.baseline === 'function' ? opts.baseline(x) : opts.baseline;
  const diff = E.sub(x, baseline);
  let sum: Tensor | null = null;
  let output: Tensor | null = null;
  for (let i = 1; i <= nIter; i++) {
    const step = E.add(baseline, E.mul(diff, i / nIter));
    const r = gradientAttribution(model, step, opts);
    output = r.output;
    sum = sum ? E.add(sum, r.relevance) : r.relevance;
  }
  return { output: output!, relevance: E.mul(E.mul(sum!, 1 / nIter), diff) };
}

export interface OcclusionOptions {
  window?: number | readonly number[];
  stride?: number | readonly number[];
  seed?: Seed;
  /**
   * 'reference' (zennit's): windows start at 0 and roll around the border (wrap-around).
   * 'clip': windows are cut at the border, which is what a person usually expects.
   */
  mode?: 'reference' | 'clip';
  /** Called after each window, for progress bars. */
  onProgress?: (done: number, total: number) => void;
}

function perDim(v: number | readonly number[], shape: readonly number[], what: string): { size: number[]; fromList: boolean } {
  const nonBatch = shape.slice(1);
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < 1) throw new ExplainError(`occlusion: ${what} must be a positive integer, got ${v}`);
    return { size: nonBatch.map((d) => Math.min(v, d)), fromList: false };
  }
  if (v.length > nonBatch.length) throw new ExplainError(`occlusion: ${what} has ${v.length} dims but the input has ${nonBatch.length} non-batch dims`);
  const lead = nonBatch.length - v.length;
  return { size: nonBatch.map((d, i) => (i < lead ? d : Math.min(v[i - lead]!, d))), fromList: true };
}

/**
 * Occlusion: for each window offset, everything outside the window is zeroed, the model runs
 * without recording, and the window's score (sum of output * seed per batch item) is added to
 * the window's positions.
 */
export function occlusion(model: Forward, input: Tensor, opts: OcclusionOptions = {}): AttributorResult {
  const x = input.detach();
  const shape = x.shape;
  const win = perDim(opts.window ?? 8, shape, 'window');
  const strideSpec = perDim(opts.stride ?? 8, shape, 'stride');
  // Leading dims not named by a list window are covered whole, with a stride equal to the window there.
  const lead = win.fromList ? shape.length - 1 - (opts.window as readonly number[]).length : 0;
  const stride = strideSpec.size.map((s, i) => (i < lead ? win.size[i]! : Math.max(1, s)));
  const nonBatch = shape.slice(1);
  const output = E.noGrad(() => runForward(model, x));
  const seed = opts.seed ?? ((o: Tensor) => o);
  const offsets: number[][] = [[]];
  nonBatch.forEach((d, i) => {
    const next: number[][] = [];
    for (const o of offsets) for (let s = 0; s < d; s += stride[i]!) next.push([...o, s]);
    offsets.splice(0, offsets.length, ...next);
  });
  const N = shape[0]!;
  const inner = nonBatch.reduce((a, b) => a * b, 1);
  const result = new Float64Array(x.size);
  const strides = nonBatch.map((_, i) => nonBatch.slice(i + 1).reduce((a, b) => a * b, 1));
  const mask = new Uint8Array(inner);
  const mode = opts.mode ?? 'reference';
  offsets.forEach((off, done) => {
    mask.fill(0);
    for (let p = 0; p < inner; p++) {
      let inside = true;
      for (let i = 0; i < nonBatch.length && inside; i++) {
        const c = Math.floor(p / strides[i]!) % nonBatch[i]!;
        const rel = mode === 'reference' ? (c - off[i]! + nonBatch[i]!) % nonBatch[i]! : c - off[i]!;
        inside = rel >= 0 && rel < win.size[i]!;
      }
      mask[p] = inside ? 1 : 0;
    }
    const occluded = E.zerosLike(x);
    for (let n = 0; n < N; n++) for (let p = 0; p < inner; p++) if (mask[p]) occluded.data[n * inner + p] = x.data[n * inner + p]!;
    const out = E.noGrad(() => runForward(model, occluded));
    const s = seedTensor(seed, out);
    const per = out.size / N;
    for (let n = 0; n < N; n++) {
      let score = 0;
      for (let j = 0; j < per; j++) score += out.data[n * per + j]! * s.data[n * per + j]!;
      for (let p = 0; p < inner; p++) if (mask[p]) result[n * inner + p] = result[n * inner + p]! + score;
    }
    opts.onProgress?.(done + 1, offsets.length);
  });
  const rel = E.zerosLike(x);
  rel.data.set(result);
  return { output, relevance: rel };
}
