/**
 * Parameter relevance: how much of the relevance arriving at a layer each parameter tensor
 * explains, and per-unit (output neuron / filter) totals for pruning by relevance (Yeom et al.,
 * "Pruning by explaining", 2021).
 *
 * A rule with parameter modifiers (Epsilon, ZPlus, AlphaBeta, Gamma, ZBox, Flat, WSquare) applies its
 * own reducer to the modified parameters and the VJPs w.r.t. them (ARCHITECTURE.md, "Parameter
 * relevance"; FORMAT.md `param_relevance/<name>`). For an Epsilon layer with a small epsilon the
 * weight and bias relevances add up to the relevance arriving at the layer. Keys are
 * `<layer name>.<param>`; with a canonizer view they are the relevances of the parameters the layer
 * ran with (a batch-norm-merged convolution reports its merged weight and bias under the
 * convolution's name). Layers whose rule has no parameter modifier (Pass, Norm, the ReLU rules,
 * the plain gradient) have no entry.
 */
import * as E from '../engine/index.js';
import type { LayerRecord, Tensor } from '../engine/index.js';
import type { Composite } from '../composites/index.js';
import { ExplainError, oneHotSeed, recordForward, type Forward, type Seed } from './explain.js';

export interface ParameterRelevanceOptions {
  /** Called with each layer's incoming relevance and the relevance it passes on (as `attribute`'s `onLayer`). */
  onLayer?: (layer: LayerRecord, relevanceOut: Tensor, relevanceIn: readonly (Tensor | null)[]) => void;
}

/**
 * The relevance of every parameter tensor of the layers the composite maps to a parameter-modifying
 * rule, summed over the batch: `<layer name>.<param>` -> tensor shaped like the parameter.
 * `seed` is a tensor, a function of the output, or class targets (one per batch item: one-hot seed).
 * Runs one recorded forward and one backward; nothing is retained afterwards.
 */
export function parameterRelevance(
  model: Forward,
  input: Tensor,
  seed: Seed | ArrayLike<number>,
  composite: Composite,
  opts: ParameterRelevanceOptions = {},
): Map<string, Tensor> {
  const rec = recordForward(model, input);
  const s: Seed = typeof seed === 'function' || seed instanceof E.Tensor ? seed : (out: Tensor) => oneHotSeed(out, seed);
  const res = rec.attribute(s, { composite, paramRelevance: true, onLayer: opts.onLayer });
  return res.paramRelevance ?? new Map();
}

/** `a.b.weight` -> [`a.b`, `weight`]; a root layer's `weight` -> [``, `weight`]. */
export function splitParamKey(key: string): [layer: string, param: string] {
  const i = key.lastIndexOf('.');
  return i < 0 ? ['', key] : [key.slice(0, i), key.slice(i + 1)];
}

/**
 * Per-unit totals for each layer: every parameter tensor of the layer summed over all dims but
 * dim 0 (the output neuron of a Linear, the filter of a Conv2d), and the layer's parameters added
 * (weight + bias). Layer name -> tensor of shape [units]. Throws when a layer's parameters disagree
 * on the number of units.
 */
export function aggregatePerUnit(paramRelevance: ReadonlyMap<string, Tensor>): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  const firstKey = new Map<string, string>();
  for (const [key, rel] of paramRelevance) {
    const [layer] = splitParamKey(key);
    if (rel.ndim === 0) throw new ExplainError(`aggregatePerUnit: '${key}' is a scalar; per-unit totals need a leading unit dim`);
    const perUnit = E.noGrad(() => (rel.ndim === 1 ? rel.detach() : E.sum(rel.detach(), [...Array(rel.ndim).keys()].slice(1))));
    const prev = out.get(layer);
    if (prev && prev.shape[0] !== perUnit.shape[0]) {
      throw new ExplainError(`aggregatePerUnit: '${key}' has ${perUnit.shape[0]} units but '${firstKey.get(layer)}' has ${prev.shape[0]}`);
    }
    if (!prev) firstKey.set(layer, key);
    out.set(layer, prev ? E.noGrad(() => E.add(prev, perUnit)) : perUnit);
  }
  return out;
}

export interface PruningCandidate {
  /** Layer name (as in the per-unit map). */
  layer: string;
  /** Output neuron / filter index within the layer. */
  unit: number;
  /** The unit's total relevance. */
  relevance: number;
  /** The value the order is by (see `PruningOrderOptions`). */
  score: number;
}

export interface PruningOrderOptions {
  /** 'value' (default): signed relevance, so negative units come first; 'absolute': |relevance|. */
  by?: 'value' | 'absolute';
  /**
   * 'none' (default): raw totals, a global order over all layers. 'layer': each layer's scores
   * divided by the sum of |relevance| of its units, so layers of different scale compare.
   */
  normalize?: 'none' | 'layer';
  /** Only these layers (names or a predicate). */
  layers?: readonly string[] | ((layer: string) => boolean);
}

/**
 * Units ordered from least to most relevant (the first entries are the pruning candidates). Ties
 * keep layer order, then unit order. Give it `aggregatePerUnit(parameterRelevance(...))`, ideally
 * computed on a reference batch (relevance is summed over the batch).
 */
export function pruningOrder(perUnit: ReadonlyMap<string, Tensor>, opts: PruningOrderOptions = {}): PruningCandidate[] {
  const by = opts.by ?? 'value';
  const keep = opts.layers === undefined ? () => true : typeof opts.layers === 'function' ? opts.layers : (n: string) => (opts.layers as readonly string[]).includes(n);
  const out: PruningCandidate[] = [];
  for (const [layer, t] of perUnit) {
    if (!keep(layer)) continue;
    if (t.ndim !== 1) throw new ExplainError(`pruningOrder: '${layer}' must be a per-unit vector, got shape [${t.shape.join(', ')}] (use aggregatePerUnit)`);
    let scale = 1;
    if ((opts.normalize ?? 'none') === 'layer') {
      let s = 0;
      for (let i = 0; i < t.size; i++) s += Math.abs(t.data[i]!);
      scale = s > 0 ? 1 / s : 1;
    }
    for (let unit = 0; unit < t.size; unit++) {
      const relevance = t.data[unit]!;
      const v = relevance * scale;
      out.push({ layer, unit, relevance, score: by === 'absolute' ? Math.abs(v) : v });
    }
  }
  // Array.prototype.sort is stable: ties keep insertion (layer, unit) order.
  return out.sort((a, b) => a.score - b.score);
}
