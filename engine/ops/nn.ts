import { Tensor, ShapeError, shapeStr } from '../tensor.js';
import { apply, noGrad, sameFloatDType, type OpDef } from '../autograd.js';
import { type Rng, defaultRng } from '../random.js';
import { abs, add, div, exp, gt, log, mul, neg, relu, sqrt, sub, where } from './elementwise.js';
import { max, mean } from './reduce.js';
import { sum } from './sum.js';
import { reshape } from './shape.js';
import { kernels as K } from '../kernels/dispatch.js';
import { emptyLike } from './util.js';

/** PyTorch's softplus: log(1 + exp(beta x)) / beta, linear above `threshold` for stability. */
export function softplus(x: Tensor, beta = 1, threshold = 20): Tensor {
  const bx = mul(x, beta);
  // max(t, 0) + log(1 + e^-|t|) never overflows, and its derivative is sigmoid(t) everywhere.
  const soft = div(add(relu(bx), log(add(exp(neg(abs(bx))), 1))), beta);
  return where(gt(bx, threshold), x, soft);
}

export function logSoftmax(x: Tensor, axis = -1): Tensor {
  const a = axis < 0 ? axis + x.ndim : axis;
  const m = noGrad(() => max(x, a, true)).detach();
  const shifted = sub(x, m);
  return sub(shifted, log(sum(exp(shifted), [a], true)));
}

/** One-hot rows (same dtype as `like`) for integer class targets. */
export function oneHot(targets: ArrayLike<number>, numClasses: number, like: Tensor): Tensor {
  const out = emptyLike(like, [targets.length, numClasses]);
  const bad = K.oneHotRows(targets, numClasses, out.data);
  if (bad >= 0) throw new ShapeError(`oneHot: target ${targets[bad]} at position ${bad} is outside [0, ${numClasses})`);
  return out;
}

/** Mean cross-entropy of logits [N, K] against class indices. */
export function crossEntropy(logits: Tensor, targets: ArrayLike<number>): Tensor {
  if (logits.ndim !== 2) throw new ShapeError(`crossEntropy: logits must be [N, classes], got ${shapeStr(logits.shape)}`);
  if (targets.length !== logits.shape[0]) throw new ShapeError(`crossEntropy: ${targets.length} targets for ${logits.shape[0]} rows`);
  const lp = logSoftmax(logits, 1);
  return mul(sum(mul(lp, oneHot(targets, logits.shape[1]!, logits))), -1 / logits.shape[0]!);
}

function channelShape(x: Tensor): number[] {
  return x.shape.map((d, i) => (i === 1 ? d : 1));
}

/**
 * y = x * scale[c] + shift[c] over dim 1 of x ([N, C, ...]) in one pass: evaluation-mode batch norm
 * as one fresh tensor instead of two (the second multiply-add pass and its page faults were a
 * quarter of a ResNet-18 forward). Same values as mul then add in float64; in float32 the sum is
 * rounded once instead of twice.
 */
export const channelAffineOp: OpDef = {
  name: 'channel_affine',
  forward([x, scale, shift]) {
    requireFloatDims(x!);
    sameFloatDType('channel_affine', [x!, scale!, shift!]);
    const C = x!.shape[1]!;
    if (scale!.size !== C || shift!.size !== C) {
      throw new ShapeError(`channel_affine: scale ${shapeStr(scale!.shape)} and shift ${shapeStr(shift!.shape)} must have ${C} elements (dim 1 of ${shapeStr(x!.shape)})`);
    }
    const out = emptyLike(x!);
    const inner = x!.shape.slice(2).reduce((a, b) => a * b, 1);
    K.channelAffine(x!.data, out.data, scale!.data, shift!.data, x!.shape[0]!, C, inner);
    return out;
  },
  vjp: (g, { inputs: [x, scale], needs }) => {
    const cs = channelShape(x!);
    const others = x!.shape.map((_, i) => i).filter((i) => i !== 1);
    return [
      needs[0] ? mul(g, reshape(scale!, cs)) : null,
      needs[1] ? reshape(sum(mul(g, x!), others), scale!.shape) : null,
      needs[2] ? reshape(sum(g, others), scale!.shape) : null,
    ];
  },
};

function requireFloatDims(x: Tensor): void {
  if (x.ndim < 2) throw new ShapeError(`channel_affine: input must be [N, C, ...], got ${shapeStr(x.shape)}`);
}

/** x * scale + shift per channel (dim 1); scale and shift hold one value per channel. */
export function channelAffine(x: Tensor, scale: Tensor, shift: Tensor): Tensor {
  return apply(channelAffineOp, [x, scale, shift], {});
}

export interface BatchNormOptions {
  training?: boolean;
  momentum?: number;
  eps?: number;
}

/**
 * Batch norm over dim 1 of [N, C] or [N, C, ...]. In training mode it normalises with the batch
 * statistics and returns the updated running statistics (unbiased variance, PyTorch's momentum rule);
 * the caller stores them (modules do).
 */
export function batchNorm(
  x: Tensor,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  weight: Tensor | null,
  bias: Tensor | null,
  opts: BatchNormOptions = {},
): { output: Tensor; runningMean?: Tensor; runningVar?: Tensor } {
  if (x.ndim < 2) throw new ShapeError(`batchNorm: input must be [N, C, ...], got ${shapeStr(x.shape)}`);
  const eps = opts.eps ?? 1e-5;
  const cs = channelShape(x);
  const affine = (normed: Tensor): Tensor => {
    let y = normed;
    if (weight) y = mul(y, reshape(weight, cs));
    if (bias) y = add(y, reshape(bias, cs));
    return y;
  };
  if (!opts.training) {
    if (!runningMean || !runningVar) throw new ShapeError('batchNorm: evaluation mode needs running statistics');
    // Evaluation folds into one scale and shift per channel, so the layer is one multiply-add.
    let scale = div(1, sqrt(add(runningVar, eps)));
    let shift = mul(runningMean, -1);
    shift = mul(shift, scale);
    if (weight) {
      scale = mul(scale, weight);
      shift = mul(shift, weight);
    }
    if (bias) shift = add(shift, bias);
    return { output: channelAffine(x, scale, shift) };
  }
  const axes = x.shape.map((_, i) => i).filter((i) => i !== 1);
  const mu = mean(x, axes, true);
  const centred = sub(x, mu);
  const v = mean(mul(centred, centred), axes, true);
  const output = affine(div(centred, sqrt(add(v, eps))));
  if (!runningMean || !runningVar) return { output };
  const m = opts.momentum ?? 0.1;
  const count = x.size / x.shape[1]!;
  const updated = noGrad(() => ({
    runningMean: add(mul(runningMean, 1 - m), mul(reshape(mu, [x.shape[1]!]), m)).detach(),
    runningVar: add(mul(runningVar, 1 - m), mul(reshape(v, [x.shape[1]!]), (m * count) / Math.max(count - 1, 1))).detach(),
  }));
  return { output, ...updated };
}

/** Inverted dropout with a seeded mask; identity when not training or p = 0. */
export function dropout(x: Tensor, p = 0.5, training = true, rng: Rng = defaultRng()): Tensor {
  if (p < 0 || p > 1) throw new ShapeError(`dropout: p must be in [0, 1], got ${p}`);
  if (!training || p === 0) return x;
  const mask = emptyLike(x);
  const keep = 1 / (1 - p);
  K.fill(mask.data, () => (rng.uniform() >= p ? (p === 1 ? 0 : keep) : 0));
  return mul(x, mask);
}
