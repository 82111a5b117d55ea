import { ruleFromSpec, RuleConfigError } from '../rules/index.js';
import { MapComposite, type Composite, type LayerMap } from './core.js';
import * as P from './presets.js';
import * as T from './transformer.js';
import { ArgumentError, safeName } from '../engine/errors.js';
import { boundArg, knownKeys, numberArg, showValue, stabilizerArg, zeroParamsArg } from '../rules/args.js';

export class CompositeConfigError extends ArgumentError {
  override name = 'CompositeConfigError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'ERR_COMPOSITE_CONFIG', options);
  }
}

type Args = Record<string, unknown>;

const presets: Record<string, { make: (a: Args, canonizers: readonly unknown[]) => Composite; keys: string[]; doc: string }> = {
  epsilon_gamma_box: {
    keys: ['low', 'high', 'epsilon', 'gamma', 'stabilizer', 'zero_params'],
    make: (a, c) => {
      if (a.low === undefined || a.high === undefined) throw new CompositeConfigError("epsilon_gamma_box needs 'low' and 'high' (the input's value range)");
      return P.epsilonGammaBox({ ...common(a), low: a.low as number, high: a.high as number, gamma: a.gamma as number | undefined, canonizers: c });
    },
    doc: 'ZBox on the first conv, Gamma on convs, Epsilon on dense layers',
  },
  epsilon_plus: { keys: ['epsilon', 'stabilizer', 'zero_params'], make: (a, c) => P.epsilonPlus({ ...common(a), canonizers: c }), doc: 'ZPlus on convs, Epsilon on dense layers' },
  epsilon_plus_flat: { keys: ['epsilon', 'stabilizer', 'zero_params'], make: (a, c) => P.epsilonPlusFlat({ ...common(a), canonizers: c }), doc: 'Flat on the first linear layer, ZPlus on convs, Epsilon on dense layers' },
  epsilon_alpha2_beta1: { keys: ['epsilon', 'stabilizer', 'zero_params'], make: (a, c) => P.epsilonAlpha2Beta1({ ...common(a), canonizers: c }), doc: 'AlphaBeta(2, 1) on convs, Epsilon on dense layers' },
  epsilon_alpha2_beta1_flat: { keys: ['epsilon', 'stabilizer', 'zero_params'], make: (a, c) => P.epsilonAlpha2Beta1Flat({ ...common(a), canonizers: c }), doc: 'Flat on the first linear layer, AlphaBeta(2, 1) on convs, Epsilon on dense layers' },
  deconvnet: { keys: [], make: (a, c) => P.deconvnet({ ...common(a), canonizers: c }), doc: 'DeconvNet ReLUs' },
  guided_backprop: { keys: [], make: (a, c) => P.guidedBackprop({ ...common(a), canonizers: c }), doc: 'guided backprop ReLUs' },
  excitation_backprop: { keys: ['stabilizer', 'zero_params'], make: (a, c) => P.excitationBackprop({ ...common(a), canonizers: c }), doc: 'ZPlus on linear layers, Norm on sums and average pools' },
  attnlrp: {
    keys: ['linear_epsilon', 'conv_epsilon', 'layer_norm_epsilon', 'add_epsilon', 'matmul_epsilon', 'mean_epsilon'],
    make: (a, c) => T.attnLrp({ ...transformerArgs(a), matmulEpsilon: a.matmul_epsilon as number | undefined, canonizers: c }),
    doc: 'AttnLRP (LXT): uniform rule on q k^T and A v, softmax and LayerNorm rules, sign-less epsilon elsewhere',
  },
  cp_lrp: {
    keys: ['linear_epsilon', 'conv_epsilon', 'layer_norm_epsilon', 'add_epsilon', 'value_epsilon', 'mean_epsilon'],
    make: (a, c) => T.cpLrp({ ...transformerArgs(a), valueEpsilon: a.value_epsilon as number | undefined, canonizers: c }),
    doc: 'CP-LRP (LXT): attention weights constant, all relevance of A v to v; otherwise as attnlrp',
  },
  beta_smooth: { keys: ['beta', 'beta_smooth'], make: (a, c) => P.betaSmooth({ beta: (a.beta ?? a.beta_smooth) as number | undefined, canonizers: c }), doc: 'ReLU gradients replaced by sigmoid(beta x)' },
};

let userMaps: Pick<P.PresetOptions, 'layerMap' | 'firstMap'> = {};

function transformerArgs(a: Args): T.AttnLrpOptions {
  const n = (k: string): number | undefined => a[k] as number | undefined;
  return {
    ...userMaps,
    linearEpsilon: n('linear_epsilon'),
    convEpsilon: n('conv_epsilon'),
    layerNormEpsilon: n('layer_norm_epsilon'),
    addEpsilon: n('add_epsilon'),
    meanEpsilon: n('mean_epsilon'),
  };
}

function common(a: Args): P.PresetOptions {
  return {
    ...userMaps,
    epsilon: a.epsilon as number | undefined,
    stabilizer: a.stabilizer as number | undefined,
    zeroParams: (a.zero_params ?? a.zeroParams) as string | string[] | undefined,
  };
}

export const compositeNames: readonly string[] = [...Object.keys(presets), 'layer_map'];

export function describeComposites(): { name: string; doc: string; keys: string[] }[] {
  return [
    ...Object.entries(presets).map(([name, p]) => ({ name, doc: p.doc, keys: p.keys })),
    { name: 'layer_map', doc: 'explicit [layer type, rule] lists (layer_map, first_map)', keys: ['layer_map', 'first_map'] },
  ];
}

const layerTypes = ['Dense', 'Convolution', 'Linear', 'Activation', 'AvgPool', 'BatchNorm', 'Sum', 'MaxPool', 'LayerNorm'];

function mapFromSpec(entries: unknown, what: string): LayerMap {
  if (entries === undefined || entries === null) return [];
  if (!Array.isArray(entries)) throw new CompositeConfigError(`${what} must be a list of [type, rule] pairs`);
  return entries.map((e, i) => {
    if (!Array.isArray(e) || e.length !== 2 || typeof e[0] !== 'string' || typeof e[1] !== 'object') {
      throw new CompositeConfigError(`${what}[${i}] must be a [type, {"rule": ...}] pair`);
    }
    const [type, spec] = e as [string, { rule: string }];
    if (!layerTypes.includes(type) && !type.startsWith('type:') && !type.startsWith('op:')) {
      throw new CompositeConfigError(`${what}[${i}]: unknown layer type '${type}' (known: ${layerTypes.join(', ')}, type:<Class>, op:<name>)`);
    }
    try {
      return [type, ruleFromSpec(spec)] as const;
    } catch (err) {
      if (err instanceof RuleConfigError) throw new CompositeConfigError(`${what}[${i}]: ${err.message}`);
      throw err;
    }
  });
}

const configFail = (m: string): Error => new CompositeConfigError(m);

/** Type and range of every composite argument, before any rule is built (the rules check again). */
function checkCompositeArgs(name: string, args: Args, keys: readonly string[]): void {
  const owner = `composite ${name}`;
  knownKeys(owner, args, [...keys, ...(keys.includes('zero_params') ? ['zeroParams'] : [])], configFail);
  for (const key of ['epsilon', 'stabilizer']) if (key in args) stabilizerArg(owner, key, args[key], configFail);
  if ('zero_params' in args) zeroParamsArg(owner, args.zero_params, configFail);
  if ('zeroParams' in args) zeroParamsArg(owner, args.zeroParams, configFail);
  if ('gamma' in args) numberArg(owner, 'gamma', args.gamma, { min: 0 }, configFail);
  for (const key of Object.keys(args)) if (key.endsWith('_epsilon')) numberArg(owner, key, args[key], { min: 0 }, configFail);
  for (const key of ['beta', 'beta_smooth']) if (key in args) numberArg(owner, key, args[key], { min: 0, exclusive: true }, configFail);
  if (keys.includes('low')) {
    if (args.low === undefined || args.high === undefined) throw new CompositeConfigError(`${name} needs 'low' and 'high' (the input's value range)`);
    const low = boundArg(owner, 'low', args.low, configFail);
    const high = boundArg(owner, 'high', args.high, configFail);
    if (typeof low === 'number' && typeof high === 'number' && !(low <= high)) throw new CompositeConfigError(`${owner}: argument 'low' must be <= 'high', got low=${low}, high=${high}`);
  }
}

export interface CompositeSpec {
  name: string;
  args?: Args;
  layer_map?: unknown;
  first_map?: unknown;
  canonizers?: readonly unknown[];
}

/** A composite from FORMAT.md's JSON (`{"name": "epsilon_plus", "args": {...}, "canonizers": [...]}`). */
export function compositeFromSpec(spec: CompositeSpec): Composite {
  const canonizers = spec.canonizers ?? [];
  if (spec.name === 'layer_map') {
    return new MapComposite({ name: 'layer_map', layerMap: mapFromSpec(spec.layer_map, 'layer_map'), firstMap: mapFromSpec(spec.first_map, 'first_map'), canonizers });
  }
  const preset = typeof spec.name === 'string' && Object.hasOwn(presets, spec.name) ? presets[spec.name] : undefined;
  if (!preset) throw new CompositeConfigError(`unknown composite '${safeName(spec.name, 60)}' (known: ${compositeNames.join(', ')})`);
  const args = spec.args ?? {};
  if (typeof args !== 'object' || args === null || Array.isArray(args)) throw new CompositeConfigError(`composite ${spec.name}: args must be an object, got ${showValue(args)}`);
  checkCompositeArgs(spec.name, args, preset.keys);
  // User entries are prepended to the preset's maps, as zennit does.
  userMaps = { layerMap: mapFromSpec(spec.layer_map, 'layer_map'), firstMap: mapFromSpec(spec.first_map, 'first_map') };
  try {
    return preset.make(args, canonizers);
  } finally {
    userMaps = {};
  }
}
