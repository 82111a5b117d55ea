import type { Tensor } from '../engine/index.js';
import type { Rule } from './core.js';
import {
  alphaBetaRule, epsilonRule, flatRule, gammaRule, normRule, passRule, reluBetaSmoothRule, reluDeconvNetRule,
  reluGuidedBackpropRule, wSquareRule, zBoxRule, zPlusRule,
} from './builtin.js';
import { constantRule, layerNormRule, meanRule, softmaxRule, uniformRule } from './transformer.js';
import { boundArg, knownKeys, numberArg, RuleConfigError, showValue, zeroParamsArg } from './args.js';
import { safeName } from '../engine/errors.js';

export { RuleConfigError } from './args.js';

type Args = Record<string, unknown>;

const num = (args: Args, key: string, rule: string): number | undefined => numberArg(`rule ${rule}`, key, args[key]);
const zero = (args: Args, rule: string): string[] | undefined => {
  const v = args.zero_params ?? args.zeroParams;
  return v === undefined || v === null ? undefined : zeroParamsArg(`rule ${rule}`, v);
};
const flag = (args: Args, key: string, rule: string): boolean | undefined => {
  const v = args[key];
  if (v === undefined || typeof v === 'boolean') return v;
  throw new RuleConfigError(`rule ${rule}: argument '${key}' must be true or false, got ${showValue(v)}`);
};
const lxt = (a: Args, rule: string): { epsilon?: number; signed?: boolean } => ({ epsilon: num(a, 'epsilon', rule), signed: flag(a, 'signed', rule) });
const bound = (args: Args, key: string, rule: string): number | Tensor => boundArg(`rule ${rule}`, key, args[key]);

const known: Record<string, { keys: string[]; make: (a: Args) => Rule; doc: string }> = {
  Epsilon: {
    keys: ['epsilon', 'zero_params', 'signed'],
    make: (a) => epsilonRule({ epsilon: num(a, 'epsilon', 'Epsilon'), zeroParams: zero(a, 'Epsilon'), signed: flag(a, 'signed', 'Epsilon') }),
    doc: 'LRP-epsilon: x * W^T(R / (z + eps sign z)); signed: false is LXT\'s z + eps',
  },
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
  Uniform: { keys: ['epsilon', 'signed'], make: (a) => uniformRule(lxt(a, 'Uniform')), doc: 'AttnLRP, product of activations (A @ B): epsilon on the product, split evenly between the factors' },
  Softmax: { keys: [], make: () => softmaxRule(), doc: "AttnLRP's softmax rule: x * (R - s * sum R)" },
  LayerNorm: { keys: ['epsilon', 'signed'], make: (a) => layerNormRule(lxt(a, 'LayerNorm')), doc: 'AttnLRP: epsilon on the layer norm with its std held constant' },
  Mean: { keys: ['epsilon', 'signed'], make: (a) => meanRule(lxt(a, 'Mean')), doc: 'AttnLRP: epsilon on a mean taken as a sum, x * R / (sum x + eps)' },
  Constant: { keys: [], make: () => constantRule(), doc: 'no relevance passes (CP-LRP: attention weights held constant)' },
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
  if (typeof spec !== 'object' || spec === null) throw new RuleConfigError(`a rule must be an object {"rule": name, ...}, got ${showValue(spec)}`);
  const entry = typeof spec.rule === 'string' && Object.hasOwn(known, spec.rule) ? known[spec.rule] : undefined;
  if (!entry) throw new RuleConfigError(`unknown rule '${safeName(spec.rule, 60)}' (known: ${ruleNames.join(', ')})`);
  const { rule: _rule, ...args } = spec;
  knownKeys(`rule ${spec.rule}`, args, [...entry.keys, ...(entry.keys.includes('zero_params') ? ['zeroParams'] : [])]);
  return entry.make(args);
}
