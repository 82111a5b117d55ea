import * as E from '../engine/index.js';
import type { LayerRecord, Tensor } from '../engine/index.js';
import { FunctionRule, GradientRule, identity, noMod, toList, withBias, type ParamModifier, type Rule } from './core.js';
import { BasicRule } from './basic-rule.js';
import { gammaShortcut } from './gamma-shortcut.js';
import { inputTimesGradient } from './reducers.js';
import { divideStabilized, makeStabilizer, type StabilizerLike } from './stabilizer.js';
import { boundArg, knownKeys, numberArg, RuleConfigError, stabilizerArg, zeroParamsArg } from './args.js';

/** Checks a rule's options object: known keys, the stabilizer and zero_params. */
function checked(rule: string, opts: object, keys: readonly string[]): void {
  const owner = `rule ${rule}`;
  if (typeof opts !== 'object' || opts === null) throw new RuleConfigError(`${owner}: options must be an object`);
  knownKeys(owner, opts, keys);
  const o = opts as Record<string, unknown>;
  if ('stabilizer' in o) stabilizerArg(owner, 'stabilizer', o.stabilizer);
  if ('epsilon' in o) stabilizerArg(owner, 'epsilon', o.epsilon);
  if ('zeroParams' in o) zeroParamsArg(owner, o.zeroParams);
}
const STAB_KEYS = ['stabilizer', 'zeroParams'] as const;

export type ZeroParams = string | readonly string[] | null;

export interface EpsilonOptions {
  /** A number, a function x -> stabilised x, or stabilizer options (zennit calls it `epsilon` for this rule). */
  epsilon?: StabilizerLike;
  zeroParams?: ZeroParams;
  /**
   * The stabiliser's convention: true (zennit, default) z + eps * sign(z); false (LXT / AttnLRP) z + eps.
   * Applies to a numeric epsilon or stabilizer options; a function stabiliser is used as given.
   */
  signed?: boolean;
  /** Input positions held constant (no relevance), e.g. CP-LRP's attention weights in A @ v. */
  constantInputs?: readonly number[];
}

/** The stabiliser of an epsilon-type rule under either sign convention. */
export function epsilonStabilizer(epsilon: StabilizerLike | undefined, signed: boolean | undefined): StabilizerLike {
  if (signed === undefined || signed === true || typeof epsilon === 'function') return epsilon ?? 1e-6;
  return typeof epsilon === 'object' ? { ...epsilon, signed: false } : { epsilon: epsilon ?? 1e-6, signed: false };
}
export interface StabilizedOptions {
  stabilizer?: StabilizerLike;
  zeroParams?: ZeroParams;
}

const clampMod = (lo: number | null, hi: number | null, zeroParams: readonly string[]): ParamModifier => ({
  modify: (p) => E.clamp(p, lo, hi),
  zeroParams,
});
const posPart = (x: Tensor): Tensor => E.clamp(x, 0, null);
const negPart = (x: Tensor): Tensor => E.clamp(x, null, 0);
const sumAll = (ts: Tensor[]): Tensor => ts.reduce((a, b) => E.add(a, b));

/** LRP-epsilon: R_in = x * (W^T (R / stab_eps(z))); on any layer or functional op (LXT's sums use it too). */
export function epsilonRule(opts: EpsilonOptions = {}): Rule {
  checked('Epsilon', opts, ['epsilon', 'zeroParams', 'signed', 'constantInputs']);
  if (opts.signed !== undefined && typeof opts.signed !== 'boolean') throw new RuleConfigError(`rule Epsilon: argument 'signed' must be true or false, got ${String(opts.signed)}`);
  const constantInputs = opts.constantInputs ?? [];
  if (!Array.isArray(constantInputs) || !constantInputs.every((i) => Number.isInteger(i) && i >= 0)) {
    throw new RuleConfigError(`rule Epsilon: argument 'constantInputs' must be a list of input positions`);
  }
  const stab = makeStabilizer(epsilonStabilizer(opts.epsilon, opts.signed), 'epsilon');
  return new BasicRule({
    name: 'Epsilon',
    settings: { epsilon: opts.epsilon ?? 1e-6, zeroParams: toList(opts.zeroParams), signed: opts.signed ?? true, ...(constantInputs.length ? { constantInputs } : {}) },
    constantInputs,
    terms: [{ input: identity, params: noMod(toList(opts.zeroParams)) }],
    gradientMapper: (r, [y]) => [divideStabilized(stab, r, y!)],
    reducer: inputTimesGradient([0]),
  });
}

/** LRP-z+ (alpha 1, beta 0, allowing negative inputs as zennit does). */
export function zPlusRule(opts: StabilizedOptions = {}): Rule {
  checked('ZPlus', opts, STAB_KEYS);
  const stab = makeStabilizer(opts.stabilizer);
  const zp = toList(opts.zeroParams);
  return new BasicRule({
    name: 'ZPlus',
    settings: { stabilizer: opts.stabilizer ?? 1e-6, zeroParams: zp },
    terms: [
      { input: posPart, params: clampMod(0, null, zp) },
      { input: negPart, params: clampMod(null, 0, withBias(zp)) },
    ],
    gradientMapper: (r, ys) => {
      const s = divideStabilized(stab, r, sumAll(ys));
      return [s, s];
    },
    reducer: inputTimesGradient([0, 1]),
  });
}

export interface AlphaBetaOptions extends StabilizedOptions {
  alpha?: number;
  beta?: number;
}

/** LRP-alpha-beta; alpha - beta must be 1 (compared with a tolerance, unlike zennit's exact float test). */
export function alphaBetaRule(opts: AlphaBetaOptions = {}): Rule {
  checked('AlphaBeta', opts, ['alpha', 'beta', ...STAB_KEYS]);
  const alpha = numberArg('rule AlphaBeta', 'alpha', opts.alpha, { min: 0 }) ?? 2;
  const beta = numberArg('rule AlphaBeta', 'beta', opts.beta, { min: 0 }) ?? 1;
  // zennit: "The difference of parameters alpha - beta must equal 1!"
  if (Math.abs(alpha - beta - 1) > 1e-9) throw new RuleConfigError(`rule AlphaBeta: alpha - beta must equal 1 (as zennit requires), got alpha=${alpha}, beta=${beta}`);
  const stab = makeStabilizer(opts.stabilizer);
  const zp = toList(opts.zeroParams);
  return new BasicRule({
    name: 'AlphaBeta',
    settings: { alpha, beta, stabilizer: opts.stabilizer ?? 1e-6, zeroParams: zp },
    terms: [
      { input: posPart, params: clampMod(0, null, zp) },
      { input: negPart, params: clampMod(null, 0, withBias(zp)) },
      { input: posPart, params: clampMod(null, 0, zp) },
      { input: negPart, params: clampMod(0, null, withBias(zp)) },
    ],
    gradientMapper: (r, ys) => {
      const pos = divideStabilized(stab, r, E.add(ys[0]!, ys[1]!));
      const neg = divideStabilized(stab, r, E.add(ys[2]!, ys[3]!));
      return [pos, pos, neg, neg];
    },
    reducer: inputTimesGradient({ terms: [0, 1], scale: alpha }, { terms: [2, 3], scale: beta, subtract: true }),
  });
}

export interface GammaOptions extends StabilizedOptions {
  gamma?: number;
}

/** zennit's generalised LRP-gamma: W + gamma W+ for positive contributions, W + gamma W- for negative ones. */
export function gammaRule(opts: GammaOptions = {}): Rule {
  checked('Gamma', opts, ['gamma', ...STAB_KEYS]);
  const gamma = numberArg('rule Gamma', 'gamma', opts.gamma, { min: 0 }) ?? 0.25;
  const stab = makeStabilizer(opts.stabilizer);
  const zp = toList(opts.zeroParams);
  const gammaMod = (lo: number | null, hi: number | null, zeroParams: readonly string[]): ParamModifier => ({
    modify: (p) => E.add(p, E.mul(E.clamp(p, lo, hi), gamma)),
    zeroParams,
    // String(-0) is "0", but gamma = -0 and 0 give different signs of zero.
    cacheKey: `gamma:${[gamma, lo, hi].map((v) => (Object.is(v, -0) ? '-0' : String(v))).join(':')}`,
  });
  const positive = gammaMod(0, null, zp);
  // r where z > 0 (z < 0), else r * 0: the bits of r * (z > 0) without a mask array. -MIN_VALUE is the
  // negative double closest to 0, so z <= -MIN_VALUE is z < 0 for float32 and float64 values alike.
  const mapper = (r: Tensor, zPositive: Tensor, zNegative: Tensor, layer: LayerRecord): [Tensor, Tensor] => {
    const z = layer.output;
    return [
      divideStabilized(stab, E.passWithin(r, z, 0, Infinity, true), zPositive),
      divideStabilized(stab, E.passWithin(r, z, -Infinity, -Number.MIN_VALUE), zNegative),
    ];
  };
  return new BasicRule({
    name: 'Gamma',
    settings: { gamma, stabilizer: opts.stabilizer ?? 1e-6, zeroParams: zp },
    terms: [
      { input: posPart, params: positive },
      { input: negPart, params: gammaMod(null, 0, withBias(zp)) },
      { input: posPart, params: gammaMod(null, 0, zp) },
      { input: negPart, params: gammaMod(0, null, withBias(zp)) },
    ],
    // zennit's fifth term is the unmodified output, used only for its sign: the recorded output is the same value.
    gradientMapper: (r, ys, layer) => {
      const [pos, neg] = mapper(r, E.add(ys[0]!, ys[1]!), E.add(ys[2]!, ys[3]!), layer);
      return [pos, pos, neg, neg];
    },
    reducer: inputTimesGradient([0, 1, 2, 3]),
    shortcut: gammaShortcut({ gamma, zeroParams: zp, positive, mapper }),
  });
}

export interface ZBoxOptions extends StabilizedOptions {
  low: number | Tensor;
  high: number | Tensor;
}

/** Broadcasts a bound like zennit's `expand`: trailing singleton dims are appended, a larger batch is cut. */
function expandBound(bound: number | Tensor, like: Tensor): Tensor {
  if (typeof bound === 'number') return E.full(like.shape, bound, { dtype: like.dtype });
  let b = bound.dtype === like.dtype ? bound : E.cast(bound, like.dtype as 'float32' | 'float64');
  b = b.detach();
  if (b.ndim < like.ndim) b = E.reshape(b, [...b.shape, ...Array(like.ndim - b.ndim).fill(1)]);
  if (b.ndim === like.ndim && b.shape[0]! > like.shape[0]!) b = E.slice(b, [[0, like.shape[0]!]]);
  return E.expand(b, like.shape);
}

/** LRP-z^B for bounded inputs (first layer): low/high are scalars or tensors broadcast to the input. */
export function zBoxRule(opts: ZBoxOptions): Rule {
  checked('ZBox', opts, ['low', 'high', ...STAB_KEYS]);
  const low = boundArg('rule ZBox', 'low', opts.low);
  const high = boundArg('rule ZBox', 'high', opts.high);
  if (typeof low === 'number' && typeof high === 'number' && !(low <= high)) throw new RuleConfigError(`rule ZBox: argument 'low' must be <= 'high', got low=${low}, high=${high}`);
  const stab = makeStabilizer(opts.stabilizer);
  const zp = toList(opts.zeroParams);
  return new BasicRule({
    name: 'ZBox',
    settings: { low: opts.low, high: opts.high, stabilizer: opts.stabilizer ?? 1e-6, zeroParams: zp },
    terms: [
      { input: identity, params: noMod(zp) },
      { input: (x) => expandBound(opts.low, x), params: clampMod(0, null, zp) },
      { input: (x) => expandBound(opts.high, x), params: clampMod(null, 0, zp) },
    ],
    gradientMapper: (r, ys) => {
      const s = divideStabilized(stab, r, E.sub(E.sub(ys[0]!, ys[1]!), ys[2]!));
      return [s, s, s];
    },
    reducer: inputTimesGradient([0], { terms: [1], subtract: true }, { terms: [2], subtract: true }),
  });
}

const onesLike = (x: Tensor): Tensor => E.onesLike(x);

/** LRP-flat: inputs and weights replaced by ones (bias zero); relevance spread uniformly over the receptive field. */
export function flatRule(opts: StabilizedOptions = {}): Rule {
  checked('Flat', opts, STAB_KEYS);
  const stab = makeStabilizer(opts.stabilizer);
  return new BasicRule({
    name: 'Flat',
    settings: { stabilizer: opts.stabilizer ?? 1e-6 },
    terms: [{ input: onesLike, params: { modify: (p) => E.onesLike(p), zeroParams: withBias(opts.zeroParams) } }],
    gradientMapper: (r, [y]) => [divideStabilized(stab, r, y!)],
    reducer: (xs, gs) => gs[0] ?? E.zerosLike(xs[0]!),
  });
}

/** LRP-w^2: ones as inputs, squared parameters (the bias is squared too, as in zennit). */
export function wSquareRule(opts: StabilizedOptions = {}): Rule {
  checked('WSquare', opts, STAB_KEYS);
  const stab = makeStabilizer(opts.stabilizer);
  return new BasicRule({
    name: 'WSquare',
    settings: { stabilizer: opts.stabilizer ?? 1e-6, zeroParams: toList(opts.zeroParams) },
    terms: [{ input: onesLike, params: { modify: (p) => E.mul(p, p), zeroParams: toList(opts.zeroParams) } }],
    gradientMapper: (r, [y]) => [divideStabilized(stab, r, y!)],
    reducer: (xs, gs) => gs[0] ?? E.zerosLike(xs[0]!),
  });
}

/** Normalises by the output and weights by the input (sums, average pooling); parameters untouched. */
export function normRule(opts: { stabilizer?: StabilizerLike } = {}): Rule {
  checked('Norm', opts, ['stabilizer']);
  const stab = makeStabilizer(opts.stabilizer);
  return new BasicRule({
    name: 'Norm',
    settings: { stabilizer: opts.stabilizer ?? 1e-6 },
    terms: [{ input: identity, params: { modify: identity, keys: [] } }],
    gradientMapper: (r, [y]) => [divideStabilized(stab, r, y!)],
    reducer: inputTimesGradient([0]),
  });
}

const sameShape = (a: Tensor, b: Tensor): boolean => a.ndim === b.ndim && a.shape.every((d, i) => d === b.shape[i]);

/** Relevance passes unchanged (activations, batch norm). */
export function passRule(): Rule {
  return new FunctionRule('Pass', (layer, r) => layer.inputs.map((x) => (sameShape(x, r) ? r : null)));
}

/** DeconvNet's ReLU: the incoming signal clamped at 0, ignoring the forward mask. */
export function reluDeconvNetRule(): Rule {
  return new FunctionRule('ReLUDeconvNet', (layer, r) => layer.inputs.map((x) => (sameShape(x, r) ? E.clamp(r, 0, null) : null)));
}

/** Guided backprop's ReLU: the plain gradient, kept only where the incoming signal is positive. */
export function reluGuidedBackpropRule(): Rule {
  return new FunctionRule('ReLUGuidedBackprop', (layer, r) =>
    layer.inputs.map((x) => (sameShape(x, r) ? E.mul(E.mul(r, E.gt(x, 0)), E.gt(r, 0)) : null)),
  );
}

/** The ReLU gradient replaced by sigmoid(beta x), the softplus surrogate (Dombrowski et al.). */
export function reluBetaSmoothRule(opts: { beta?: number } = {}): Rule {
  checked('ReLUBetaSmooth', opts, ['beta']);
  const beta = numberArg('rule ReLUBetaSmooth', 'beta', opts.beta, { min: 0, exclusive: true }) ?? 10;
  return new FunctionRule(
    'ReLUBetaSmooth',
    (layer, r) => layer.inputs.map((x) => (sameShape(x, r) ? E.mul(r, E.sigmoid(E.mul(x, beta))) : null)),
    { beta },
  );
}

/** The plain gradient, as an explicit rule (e.g. to override a composite's choice for one layer). */
export function gradientRule(): Rule {
  return new GradientRule();
}
