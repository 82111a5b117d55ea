/**
 * The model-parameter randomisation test (Adebayo et al. 2018, "Sanity checks for saliency maps"),
 * cascading from the top: randomise the parameters of the last layer, then also the one below,
 * and so on down to the first, explaining again after each step. An explanation that depends on
 * what the model learned changes: the Spearman rank correlation between the original and the
 * randomised map falls towards 0. One that does not (an edge detector) stays high.
 *
 * The model's parameters are replaced through `loadStateDict` (new tensors, never written in place)
 * and restored before returning, also when the explanation throws.
 */
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import type { Module } from '../nn/index.js';
import { checkImages, checkTargets } from './checks.js';
import { EvaluationError } from './errors.js';
import { channelSum } from './localisation.js';
import { modelClasses, type AttributionMethod } from './methods.js';
import { spearman } from './stats.js';

export interface RandomisationOptions {
  /** Seed of the random parameters. Default 0. */
  seed?: number;
  /** Correlate |R| instead of R (Adebayo et al. report both). Default false. */
  absolute?: boolean;
  /** Called after each randomisation step. */
  onProgress?: (done: number, total: number) => void;
}

export interface RandomisationResult {
  /** Module names in the order they were randomised (top first). */
  layers: string[];
  /** spearman[l][i]: image i after layers[0..l] are randomised. */
  spearman: number[][];
}

/** Modules that own parameters, top (last registered) first: the forward order reversed for Sequential and torchvision models. */
export function parameterisedLayers(model: Module): [string, Module][] {
  return model
    .namedModules()
    .filter(([, m]) => m.parameterSlots().some(([, t]) => t !== null))
    .reverse();
}

/** A tensor like `t` with entries drawn from N(0, std(t)^2): random, at the scale the layer was trained at. */
function randomLike(t: Tensor, rng: E.Rng): Tensor {
  const n = t.size;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += t.data[i]!;
  mean /= n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (t.data[i]! - mean) ** 2;
  const sd = n > 1 ? Math.sqrt(v / (n - 1)) : Math.abs(mean);
  const out = E.zerosLike(t.detach());
  for (let i = 0; i < n; i++) out.data[i] = sd * rng.normal();
  return out;
}

export function cascadingRandomisation(model: Module, x: Tensor, targets: ArrayLike<number>, method: AttributionMethod, opts: RandomisationOptions = {}): RandomisationResult {
  const [N] = checkImages(x);
  checkTargets(targets, N, modelClasses(model, x));
  const layers = parameterisedLayers(model);
  if (!layers.length) throw new EvaluationError('cascading randomisation: the model has no parameters to randomise');
  const prep = (r: Tensor) => channelSum(r).map((m) => (opts.absolute ? m.map(Math.abs) : m));
  const original = prep(method.explain(model, x, targets));
  const saved = new Map([...model.stateDict()].map(([k, t]) => [k, t.detach()]));
  const rng = new E.Rng(opts.seed ?? 0);
  const result: number[][] = [];
  try {
    for (let l = 0; l < layers.length; l++) {
      const [name, m] = layers[l]!;
      const replaced = new Map<string, Tensor>();
      for (const [p, t] of m.parameterSlots()) if (t) replaced.set(name ? `${name}.${p}` : p, randomLike(t, rng));
      model.loadStateDict(replaced, { strict: false });
      const maps = prep(method.explain(model, x, targets));
      result.push(maps.map((m2, i) => spearman(original[i]!, m2)));
      opts.onProgress?.(l + 1, layers.length);
    }
  } finally {
    model.loadStateDict(saved);
  }
  return { layers: layers.map(([n]) => n || '(root)'), spearman: result };
}
