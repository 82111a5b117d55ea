/**
 * Metrics of one relevance map alone: how concentrated it is (sparseness, the Gini index) and how
 * much of it falls inside a ground-truth region (relevance mass accuracy).
 */
import type { Tensor } from '../engine/index.js';
import { checkMasks } from './checks.js';
import { EvaluationError } from './errors.js';
import { gini } from './stats.js';

/** Relevance [N, C, H, W] summed over channels: one [H, W] plane per image. */
export function channelSum(rel: Tensor): Float64Array[] {
  if (rel.ndim !== 4) throw new EvaluationError(`relevance must be [N, C, H, W], got [${rel.shape.join(', ')}]`);
  const [N, C, H, W] = rel.shape as [number, number, number, number];
  const hw = H * W;
  return Array.from({ length: N }, (_, i) => {
    const out = new Float64Array(hw);
    for (let c = 0; c < C; c++) {
      const o = (i * C + c) * hw;
      for (let p = 0; p < hw; p++) out[p] = out[p]! + rel.data[o + p]!;
    }
    return out;
  });
}

/**
 * Sparseness (Chalasani et al. 2020): the Gini index of |R| per image, R summed over channels as the
 * heatmap shows it. 0: relevance spread evenly; (n - 1) / n: all on one pixel.
 */
export function sparseness(rel: Tensor): number[] {
  return channelSum(rel).map((m) => gini(m));
}

/**
 * Relevance mass accuracy (Arras et al. 2022, CLEVR-XAI): positive relevance inside the mask over
 * positive relevance in the whole image, per image (R summed over channels; 0 when an image has no
 * positive relevance). `mask` holds 0/1, one [H, W] plane for every image or one per image.
 */
export function relevanceMassAccuracy(rel: Tensor, mask: ArrayLike<number>): number[] {
  const maps = channelSum(rel);
  const [N, , H, W] = rel.shape as [number, number, number, number];
  checkMasks(mask, N, H, W);
  const hw = H * W;
  const shared = mask.length === hw;
  return maps.map((m, i) => {
    const off = shared ? 0 : i * hw;
    let inside = 0;
    let all = 0;
    for (let p = 0; p < hw; p++) {
      const v = m[p]!;
      if (v > 0) {
        all += v;
        if (mask[off + p]) inside += v;
      }
    }
    return all > 0 ? inside / all : 0;
  });
}
