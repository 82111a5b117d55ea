/** What the demo measures: accuracy, and the share of positive relevance on the decoy region. */
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import { recordForward } from '../attribution/index.js';
import type { Composite } from '../composites/index.js';
import type { Module } from '../nn/index.js';
import { batchOf, type DataSet } from './data.js';

const EVAL_BATCH = 100;

/** Fraction of images whose top class is the true class. */
export function accuracy(model: Module, ds: DataSet): number {
  let ok = 0;
  E.noGrad(() => {
    for (let s = 0; s < ds.y.length; s += EVAL_BATCH) {
      const b = batchOf(ds, s, s + EVAL_BATCH);
      const pred = E.argmax(model.call(b.x), 1).data;
      for (let i = 0; i < b.y.length; i++) if (pred[i] === b.y[i]) ok++;
    }
  });
  return ok / ds.y.length;
}

/** Relevance of the true class for a batch, summed over channels: [N, H, W] as a flat array. */
export function relevanceMaps(model: Module, x: Tensor, y: ArrayLike<number>, composite: Composite): Float32Array {
  const rec = recordForward(model, x);
  const { relevance } = rec.attribute(E.oneHot(y, rec.output.shape[1]!, rec.output), { composite });
  return Float32Array.from(E.sum(relevance, [1]).data);
}

/**
 * Per image: positive relevance inside the mask / positive relevance overall (an image without
 * positive relevance counts as 0); the mean over the data set. Channel-summed relevance, as the
 * heatmaps show it.
 */
export function decoyShare(model: Module, ds: DataSet, mask: Float32Array, composite: Composite): number {
  const hw = ds.size * ds.size;
  let total = 0;
  for (let s = 0; s < ds.y.length; s += EVAL_BATCH) {
    const b = batchOf(ds, s, s + EVAL_BATCH);
    const maps = relevanceMaps(model, b.x, b.y, composite);
    for (let i = 0; i < b.y.length; i++) {
      let inside = 0;
      let all = 0;
      for (let p = 0; p < hw; p++) {
        const v = maps[i * hw + p]!;
        if (v > 0) {
          all += v;
          if (mask[p]) inside += v;
        }
      }
      total += all > 0 ? inside / all : 0;
    }
  }
  return total / ds.y.length;
}
