/**
 * AttnLRP's rules for the functional ops of a transformer (LXT, Achtibat et al. 2024), written with
 * the same `BasicRule` / `FunctionRule` machinery as zennit's rules, and in recorded ops: the
 * relevance they produce can be differentiated again, including through what the rules hold
 * constant (LayerNorm's standard deviation, CP-LRP's attention weights), which LXT itself cannot.
 */
import * as E from '../engine/index.js';
import type { LayerRecord, Tensor } from '../engine/index.js';
import { FunctionRule, identity, noMod, type Rule } from './core.js';
import { BasicRule } from './basic-rule.js';
import { inputTimesGradient } from './reducers.js';
import { makeStabilizer, type StabilizerLike } from './stabilizer.js';
import { epsilonStabilizer } from './builtin.js';
import { knownKeys, RuleConfigError, stabilizerArg } from './args.js';

export interface ConventionOptions {
  epsilon?: StabilizerLike;
  /** The stabiliser's sign convention; LXT's (false, z + eps) by default for these rules. */
  signed?: boolean;
}

function options(rule: string, opts: object, keys: readonly string[] = ['epsilon', 'signed']): void {
  if (typeof opts !== 'object' || opts === null) throw new RuleConfigError(`rule ${rule}: options must be an object`);
  knownKeys(`rule ${rule}`, opts, keys);
  const o = opts as Record<string, unknown>;
  if ('epsilon' in o) stabilizerArg(`rule ${rule}`, 'epsilon', o.epsilon);
  if (o.signed !== undefined && typeof o.signed !== 'boolean') throw new RuleConfigError(`rule ${rule}: argument 'signed' must be true or false`);
}

const stabilizerOf = (opts: ConventionOptions, dflt: number) => makeStabilizer(epsilonStabilizer(opts.epsilon ?? dflt, opts.signed ?? false), 'epsilon');

/**
 * The uniform rule for a product of n activations (A @ B, A * B): the epsilon rule on the product,
 * its relevance split evenly, P = R / (n z + eps), R_A = A * (P @ B^T), R_B = B * (A^T @ P).
 */
export function uniformRule(opts: ConventionOptions = {}): Rule {
  options('Uniform', opts);
  const stab = stabilizerOf(opts, 1e-8);
  return new BasicRule({
    name: 'Uniform',
    settings: { epsilon: opts.epsilon ?? 1e-8, signed: opts.signed ?? false },
    terms: [{ input: identity, params: noMod() }],
    gradientMapper: (r, [y], layer) => [E.div(r, stab(E.mul(y!, layer.inputs.length)))],
    reducer: inputTimesGradient([0]),
  });
}

/** Entries of -inf (masked logits) count as 0, so that they receive no relevance instead of NaN. */
function maskedAsZero(x: Tensor): Tensor {
  return E.where(E.eq(x, -Infinity), 0, x);
}

function axisOf(layer: LayerRecord): number {
  const axis = layer.info?.axis;
  return typeof axis === 'number' ? axis : layer.output.ndim - 1;
}

/** LXT's softmax rule: R_x = x * (R - s * sum_j R_j) over the softmax axis; masked logits (-inf) get none. */
export function softmaxRule(): Rule {
  return new FunctionRule('Softmax', (layer, r) => {
    const s = layer.output;
    const x = layer.inputs[0]!;
    return [E.mul(maskedAsZero(x), E.sub(r, E.mul(s, E.sum(r, [axisOf(layer)], true))))];
  });
}

/**
 * LXT's LayerNorm rule: the epsilon rule on y = (x - mean(x)) / s * w + b with s = sqrt(var + eps)
 * held constant, g = w (R / (y + eps)) / s, R_x = x * (g - mean(g)). s is constant for the rule's
 * own VJP only: it stays a recorded function of the layer's input, so a double backward goes through it.
 */
export function layerNormRule(opts: ConventionOptions = {}): Rule {
  options('LayerNorm', opts);
  const stab = stabilizerOf(opts, 1e-6);
  return new BasicRule({
    name: 'LayerNorm',
    settings: { epsilon: opts.epsilon ?? 1e-6, signed: opts.signed ?? false },
    terms: [{ input: identity, params: { modify: identity, keys: [] } }],
    forward: (layer, [x], p, record) => {
      const eps = typeof layer.info?.eps === 'number' ? layer.info.eps : 1e-5;
      const source = record ? layer.inputs[0]! : layer.inputs[0]!.detach();
      const s = E.layerNormScale(source, eps);
      let y = E.div(E.sub(x!, E.mean(x!, [-1], true)), s);
      if (p.weight) y = E.mul(y, p.weight);
      if (p.bias) y = E.add(y, p.bias);
      return y;
    },
    gradientMapper: (r, [y]) => [E.div(r, stab(y!))],
    reducer: inputTimesGradient([0]),
  });
}

/**
 * The epsilon rule for a mean as the sum it scales (LXT's pooling): R_{x_n} = x_n * R / (sum_n x_n + eps).
 * The mean's own VJP divides by the count n, so the seed is n R / (n y + eps).
 */
export function meanRule(opts: ConventionOptions = {}): Rule {
  options('Mean', opts);
  const stab = stabilizerOf(opts, 1e-6);
  return new BasicRule({
    name: 'Mean',
    settings: { epsilon: opts.epsilon ?? 1e-6, signed: opts.signed ?? false },
    terms: [{ input: identity, params: noMod() }],
    gradientMapper: (r, [y], layer) => {
      const n = layer.inputs[0]!.size / layer.output.size;
      return [E.mul(E.div(r, stab(E.mul(y!, n))), n)];
    },
    reducer: inputTimesGradient([0]),
  });
}

/** No relevance passes (CP-LRP's softmax: the attention weights are constants). */
export function constantRule(): Rule {
  return new FunctionRule('Constant', (layer) => layer.inputs.map(() => null));
}
