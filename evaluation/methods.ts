/**
 * Attribution methods as the metrics see them: a name and a function from (model, inputs,
 * targets) to a relevance tensor shaped like the inputs. Every explanation starts from the one-hot
 * of the target class (relevance in units of the target's logit gradient).
 */
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import { compositeFromSpec, compositeNames, type Composite } from '../composites/index.js';
import { canonize, canonizerFrom, type Canonizer } from '../canonizers/index.js';
import type { Module } from '../nn/index.js';
import {
  integratedGradients, occlusion, oneHotSeed, recordForward, runForward, smoothGrad, type Forward,
} from '../attribution/index.js';
import { EvaluationConfigError, EvaluationError } from './errors.js';
import { LrpTapeError } from '../engine/errors.js';

export interface AttributionMethod {
  readonly name: string;
  /** Relevance of `targets` (one class per batch item) for `x`, shaped like `x`. */
  explain(model: Forward, x: Tensor, targets: ArrayLike<number>): Tensor;
}

const targetSeed = (targets: ArrayLike<number>) => (out: Tensor) => oneHotSeed(out, targets);

/**
 * LRP with a composite (or the plain gradient when `composite` is null). With canonizers, each call
 * explains the model through a fresh canonized view, so it sees the parameters as they are then
 * (cascading randomisation swaps them).
 */
export function compositeMethod(name: string, composite: Composite | null, canonizers: readonly Canonizer[] = []): AttributionMethod {
  return {
    name,
    explain(model, x, targets) {
      if (canonizers.length && !('namedModules' in model)) throw new EvaluationConfigError(`method '${name}': canonizers need a Module, not a bare forward function`);
      const rec = recordForward(canonizers.length ? canonize(model as Module, canonizers) : model, x);
      return rec.attribute(targetSeed(targets), { composite }).relevance.detach();
    },
  };
}

/** The plain gradient of the target logit. */
export function gradientMethod(): AttributionMethod {
  return compositeMethod('gradient', null);
}

/** Gradient times input (exact attribution for a bias-free linear model). */
export function gradientTimesInputMethod(): AttributionMethod {
  return {
    name: 'gradient_x_input',
    explain(model, x, targets) {
      const g = gradientMethod().explain(model, x, targets);
      return E.mul(g, x.detach());
    },
  };
}

/**
 * The baseline every faithful method must beat: independent uniform noise in [-1, 1), from a
 * seeded generator, ignoring the model. Each `explain` call continues the stream, so two images
 * never share a map.
 */
export function randomMethod(seed = 0): AttributionMethod {
  const rng = new E.Rng(seed);
  return {
    name: 'random',
    explain(_model, x) {
      return E.rand(x.shape, { dtype: x.dtype as 'float32' | 'float64', rng, low: -1, high: 1 });
    },
  };
}

export function smoothGradMethod(opts: { nIter?: number; noiseLevel?: number; seed?: number } = {}): AttributionMethod {
  return {
    name: 'smoothgrad',
    explain: (model, x, targets) => smoothGrad(model, x, { seed: targetSeed(targets), nIter: opts.nIter ?? 20, noiseLevel: opts.noiseLevel ?? 0.1, rng: new E.Rng(opts.seed ?? 0) }).relevance.detach(),
  };
}

export function integratedGradientsMethod(opts: { nIter?: number } = {}): AttributionMethod {
  return {
    name: 'integrated_gradients',
    explain: (model, x, targets) => integratedGradients(model, x, { seed: targetSeed(targets), nIter: opts.nIter ?? 20 }).relevance.detach(),
  };
}

export function occlusionMethod(opts: { window?: number; stride?: number } = {}): AttributionMethod {
  return {
    name: 'occlusion',
    explain: (model, x, targets) => {
      const seed = targetSeed(targets);
      // Window and stride apply to the spatial dims; every channel is occluded together.
      const w = opts.window ?? 4;
      return occlusion(model, x, { window: [x.shape[1]!, w, w], stride: [x.shape[1]!, opts.stride ?? w, opts.stride ?? w], seed, mode: 'clip' }).relevance.detach();
    },
  };
}

/** Method names `methodFromName` accepts besides the composite names. */
export const BASE_METHODS = ['gradient', 'gradient_x_input', 'random', 'smoothgrad', 'integrated_gradients', 'occlusion'] as const;

export function methodNames(): string[] {
  return [...BASE_METHODS, ...compositeNames.filter((n) => n !== 'layer_map')];
}

/**
 * A method by name: one of BASE_METHODS, or a composite preset (with `compositeArgs`, e.g. low
 * and high for epsilon_gamma_box, and the canonizers the architecture needs, e.g. 'resnet').
 */
export function methodFromName(name: string, compositeArgs: Record<string, unknown> = {}, canonizers: readonly string[] = []): AttributionMethod {
  switch (name) {
    case 'gradient':
      return gradientMethod();
    case 'gradient_x_input':
      return gradientTimesInputMethod();
    case 'random':
      return randomMethod();
    case 'smoothgrad':
      return smoothGradMethod();
    case 'integrated_gradients':
      return integratedGradientsMethod();
    case 'occlusion':
      return occlusionMethod();
  }
  if (!compositeNames.includes(name) || name === 'layer_map') {
    throw new EvaluationConfigError(`unknown method '${name}' (known: ${methodNames().join(', ')})`);
  }
  return compositeMethod(name, compositeFromSpec({ name, args: compositeArgs, canonizers: [] }), canonizers.map((c) => canonizerFrom(c)));
}

/** The model's output for `x` without recording. */
export function predict(model: Forward, x: Tensor): Tensor {
  return E.noGrad(() => runForward(model, x));
}

/**
 * The number of classes the model gives for the first image; images the model cannot take (wrong
 * size or channels) are one EvaluationError naming both, before any metric runs.
 */
export function modelClasses(model: Forward, x: Tensor): number {
  let out: Tensor;
  try {
    out = predict(model, E.slice(x.detach(), [[0, 1]]));
  } catch (e) {
    if (!(e instanceof LrpTapeError) || e.category === 'internal') throw e;
    throw new EvaluationError(`images of shape [${x.shape.join(', ')}] do not fit the model: ${e.message}`);
  }
  if (out.ndim !== 2) throw new EvaluationError(`the model must output [N, classes], got [${out.shape.join(', ')}]`);
  return out.shape[1]!;
}
