/** Input checks shared by the metrics: one clear message per problem, before any work is done. */
import type { Tensor } from '../engine/index.js';
import { EvaluationError } from './errors.js';

const shapeOf = (t: { shape: readonly number[] }) => `[${t.shape.join(', ')}]`;

/** `x` must be [N, C, H, W]; when `expect` is given, C, H and W must match it. */
export function checkImages(x: Tensor, expect?: { channels?: number; height?: number; width?: number }): [number, number, number, number] {
  if (x.ndim !== 4) throw new EvaluationError(`images must be a [N, C, H, W] tensor, got shape ${shapeOf(x)}`);
  if (x.dtype === 'int32') throw new EvaluationError('images must be float32 or float64, got int32');
  const [N, C, H, W] = x.shape as [number, number, number, number];
  if (expect?.channels !== undefined && C !== expect.channels) throw new EvaluationError(`images have ${C} channels, the model expects ${expect.channels}`);
  if ((expect?.height !== undefined && H !== expect.height) || (expect?.width !== undefined && W !== expect.width)) {
    throw new EvaluationError(`images are ${H}x${W}, the model expects ${expect?.height ?? H}x${expect?.width ?? W}`);
  }
  return [N, C, H, W];
}

/** Relevance must be shaped like `x`, or [N, 1, H, W] (already summed over channels). Returns its channel count. */
export function checkRelevance(rel: Tensor, x: Tensor): number {
  const ok = rel.ndim === 4 && rel.shape[0] === x.shape[0] && rel.shape[2] === x.shape[2] && rel.shape[3] === x.shape[3] && (rel.shape[1] === x.shape[1] || rel.shape[1] === 1);
  if (!ok) throw new EvaluationError(`relevance of shape ${shapeOf(rel)} does not match the images ${shapeOf(x)} (expected the same shape, or one channel)`);
  return rel.shape[1]!;
}

export function checkTargets(targets: ArrayLike<number>, n: number, classes: number): void {
  if (targets.length !== n) throw new EvaluationError(`${targets.length} targets for ${n} images`);
  for (let i = 0; i < n; i++) {
    const t = targets[i]!;
    if (!Number.isInteger(t) || t < 0 || t >= classes) throw new EvaluationError(`target ${t} of image ${i} is out of range: the model has ${classes} classes (0..${classes - 1})`);
  }
}

/** Masks: one [H, W] plane for all images (length H*W) or one per image (length N*H*W). */
export function checkMasks(mask: ArrayLike<number>, n: number, h: number, w: number): void {
  if (mask.length !== h * w && mask.length !== n * h * w) {
    throw new EvaluationError(`a mask of ${mask.length} values does not fit ${n} images of ${h}x${w} (expected ${h * w} for one shared [H, W] mask, or ${n * h * w} for one per image)`);
  }
  for (let i = 0; i < mask.length; i++) {
    const v = mask[i]!;
    if (v !== 0 && v !== 1) throw new EvaluationError(`a mask must hold 0 and 1 only, found ${v} at position ${i}`);
  }
}
