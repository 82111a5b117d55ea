import type { Tensor } from '../engine/index.js';
import type { Rule } from './core.js';
import {
  alphaBetaRule, epsilonRule, flatRule, gammaRule, normRule, passRule, reluBetaSmoothRule, reluDeconvNetRule,
  reluGuidedBackpropRule, wSquareRule, zBoxRule, zPlusRule,
} from './builtin.js';
import { ArgumentError } from '../engine/errors.js';

export class RuleConfigError extends ArgumentError {
  override name = 'RuleConfigError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'ERR_RULE_CONFIG', options);
  }
}

type Args = Record<string, unknown>;

function num(args: Args, key: string, rule: string): number | undefined {
  const v = args[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new RuleConfigError(`${rule}: '${key}' must be a finite number, got ${JSON.stringify(v)}`);
  return v;
}
function zero(args: Args, rule: string): string | string[] | undefined {
  const v = args.zero_params ?? args.zeroParams;
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string' || (Array.isArray(v) && v.every((s) => typeof s === 'string'))) return v as string | string[];
  throw new RuleConfigError(`${rule}: 'zero_params' must be a name or a list of names`);
}
function bound(args: Args, key: string, rule: string): number | Tensor {
  const v = args[key];
  if (typeof v === 'number') return v;
  if (v && typeof v === 'object' && 'shape' in v) return v as Tensor;
  throw new RuleConfigError(`${rule}: '${key}' is required (a number or a tensor)`);
}

const known: Record<string, { keys: string[]; make: (a: Args) => Rule; doc: string }> = {
  Epsilon: { keys: ['epsilon', 'zero_params'], make: (a) => epsilonRule({ epsilon: num(a, 'epsilon', 'Epsilon'), zeroParams: zero(a, 'Epsilon') }), doc: 'LRP-epsilon: x * W^T(R / (z + eps sign z))' },
  ZPlus: { keys: ['stabilizer', 'zero_params'], make: (a) => zPlusRule({ stabilizer: num(a, 'stabilizer', 'ZPlus'), zeroParams: zero(a, 'ZPlus') }), doc: 'LRP-z+: positive contributions only (alpha 1, beta 0)' },
  AlphaBeta: {
    keys: ['alpha', 'beta', 'stabilizer', 'zero_params'],
    make: (a) => alphaBetaRule({ alpha: num(a, 'alpha', 'AlphaBeta'), beta: num(a, 'beta', 'AlphaBeta'), stabilizer: num(a, 'stabilizer', 'AlphaBeta'), zeroParams: zero(a, 'AlphaBeta') }),
    doc: 'LRP-alpha-beta: alpha * positive - beta * negative contributions (alpha - beta = 1)',
  },
  Gamma: { keys: ['gamma', 'stabilizer', 'zero_params'], make: (a) => gammaRule({ gamma: num(a, 'gamma', 'Gamma'), stabilizer: num(a, 'stabilizer', 'Gamma'), zeroParams: zero(a, 'Gamma') }), doc: 'LRP-gamma: favours positive contributions by gamma' },
  ZBox: { keys: ['low', 'high', 'stabilizer', 'zero_params'], make: (a) => zBoxRule({ low: bound(a, 'low', 'ZBox'), high: bound(a, 'high', 'ZBox'), stabilizer: num(a, 'stabilizer', 'ZBox'), zeroParams: zero(a, 'ZBox') }), doc: 'LRP-z^B: for inputs bounded by [low, high] (first layer)' },
  Flat: { keys: ['stabilizer', 'zero_params'], make: (a) => flatRule({ stabilizer: num(a, 'stabilizer', 'Flat'), zeroParams: zero(a, 'Flat') }), doc: 'LRP-flat: uniform over the receptive field' },
  WSquare: { keys: ['stabilizer', 'zero_params'], make: (a) => wSquareRule({ stabilizer: num(a, 'stabilizer', 'WSquare'), zeroParams: zero(a, 'WSquare') }), doc: 'LRP-w^2: by squared weights' },
  Norm: { keys: ['stabilizer'], make: (a) => normRule({ stabilizer: num(a, 'stabilizer', 'Norm') }), doc: 'normalise by the output, weight by the input (sums, average pooling)' },
  Pass: { keys: [], make: () => passRule(), doc: 'relevance passes unchanged (activations, batch norm)' },
  ReLUDeconvNet: { keys: [], make: () => reluDeconvNetRule(), doc: 'DeconvNet ReLU: clamp the signal at 0' },
  ReLUGuidedBackprop: { keys: [], make: () => reluGuidedBackpropRule(), doc: 'guided backprop ReLU' },
  ReLUBetaSmooth: { keys: ['beta', 'beta_smooth'], make: (a) => reluBetaSmoothRule({ beta: num(a, 'beta', 'ReLUBetaSmooth') ?? num(a, 'beta_smooth', 'ReLUBetaSmooth') }), doc: 'ReLU gradient replaced by sigmoid(beta x)' },
};

export const ruleNames: readonly string[] = Object.keys(known);

export function describeRules(): { name: string; doc: string; keys: string[] }[] {
  return Object.entries(known).map(([name, r]) => ({ name, doc: r.doc, keys: r.keys }));
}

/** A rule from its zennit name and keyword arguments (`{"rule": "Epsilon", "epsilon": 0.25}`). */
export function ruleFromSpec(spec: { rule: string } & Args): Rule {
  const entry = known[spec.rule];
  if (!entry) throw new RuleConfigError(`unknown rule '${spec.rule}' (known: ${ruleNames.join(', ')})`);
  const unknownKeys = Object.keys(spec).filter((k) => k !== 'rule' && !entry.keys.includes(k) && k !== 'zeroParams');
  if (unknownKeys.length) throw new RuleConfigError(`rule ${spec.rule}: unknown argument(s) ${unknownKeys.join(', ')} (accepted: ${entry.keys.join(', ') || 'none'})`);
  return entry.make(spec);
}
