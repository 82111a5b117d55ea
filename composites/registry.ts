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

/** A spec's own `layer_map` and `first_map` entries, tried before the preset's (as zennit prepends them). */
export type UserMaps = Pick<P.PresetOptions, 'layerMap' | 'firstMap'>;

/** A composite that can be named in a spec: the argument keys it accepts, one line for `--help`, and how to build it. */
export interface CompositePreset {
  readonly keys: readonly string[];
  readonly doc: string;
  make(args: Args, userMaps: UserMaps): Composite;
}

function common(a: Args, u: UserMaps): P.PresetOptions {
  return {
    ...u,
    epsilon: a.epsilon as number | undefined,
    stabilizer: a.stabilizer as number | undefined,
    zeroParams: (a.zero_params ?? a.zeroParams) as string | string[] | undefined,
  };
}

function transformerArgs(a: Args, u: UserMaps): T.AttnLrpOptions {
  const n = (k: string): number | undefined => a[k] as number | undefined;
  return {
    ...u,
    linearEpsilon: n('linear_epsilon'),
    convEpsilon: n('conv_epsilon'),
    layerNormEpsilon: n('layer_norm_epsilon'),
    addEpsilon: n('add_epsilon'),
    meanEpsilon: n('mean_epsilon'),
  };
}

const EPS_KEYS = ['epsilon', 'stabilizer', 'zero_params'];

/** zennit's and LXT's composites under their names. */
export const builtinCompositePresets: Readonly<Record<string, CompositePreset>> = {
  epsilon_gamma_box: {
    keys: ['low', 'high', 'epsilon', 'gamma', 'stabilizer', 'zero_params'],
    make: (a, u) => {
      if (a.low === undefined || a.high === undefined) throw new CompositeConfigError("epsilon_gamma_box needs 'low' and 'high' (the input's value range)");
      return P.epsilonGammaBox({ ...common(a, u), low: a.low as number, high: a.high as number, gamma: a.gamma as number | undefined });
    },
    doc: 'ZBox on the first conv, Gamma on convs, Epsilon on dense layers',
  },
  epsilon_plus: { keys: EPS_KEYS, make: (a, u) => P.epsilonPlus(common(a, u)), doc: 'ZPlus on convs, Epsilon on dense layers' },
  epsilon_plus_flat: { keys: EPS_KEYS, make: (a, u) => P.epsilonPlusFlat(common(a, u)), doc: 'Flat on the first linear layer, ZPlus on convs, Epsilon on dense layers' },
  epsilon_alpha2_beta1: { keys: EPS_KEYS, make: (a, u) => P.epsilonAlpha2Beta1(common(a, u)), doc: 'AlphaBeta(2, 1) on convs, Epsilon on dense layers' },
  epsilon_alpha2_beta1_flat: { keys: EPS_KEYS, make: (a, u) => P.epsilonAlpha2Beta1Flat(common(a, u)), doc: 'Flat on the first linear layer, AlphaBeta(2, 1) on convs, Epsilon on dense layers' },
  deconvnet: { keys: [], make: (a, u) => P.deconvnet(common(a, u)), doc: 'DeconvNet ReLUs' },
  guided_backprop: { keys: [], make: (a, u) => P.guidedBackprop(common(a, u)), doc: 'guided backprop ReLUs' },
  excitation_backprop: { keys: ['stabilizer', 'zero_params'], make: (a, u) => P.excitationBackprop(common(a, u)), doc: 'ZPlus on linear layers, Norm on sums and average pools' },
  attnlrp: {
    keys: ['linear_epsilon', 'conv_epsilon', 'layer_norm_epsilon', 'add_epsilon', 'matmul_epsilon', 'mean_epsilon'],
    make: (a, u) => T.attnLrp({ ...transformerArgs(a, u), matmulEpsilon: a.matmul_epsilon as number | undefined }),
    doc: 'AttnLRP (LXT): uniform rule on q k^T and A v, softmax and LayerNorm rules, sign-less epsilon elsewhere',
  },
  cp_lrp: {
    keys: ['linear_epsilon', 'conv_epsilon', 'layer_norm_epsilon', 'add_epsilon', 'value_epsilon', 'mean_epsilon'],
    make: (a, u) => T.cpLrp({ ...transformerArgs(a, u), valueEpsilon: a.value_epsilon as number | undefined }),
    doc: 'CP-LRP (LXT): attention weights constant, all relevance of A v to v; otherwise as attnlrp',
  },
  beta_smooth: { keys: ['beta', 'beta_smooth'], make: (a) => P.betaSmooth({ beta: (a.beta ?? a.beta_smooth) as number | undefined }), doc: 'ReLU gradients replaced by sigmoid(beta x)' },
};

const LAYER_MAP = { name: 'layer_map', doc: 'explicit [layer type, rule] lists (layer_map, first_map)', keys: ['layer_map', 'first_map'] };

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
  /**
   * FORMAT.md's composite object names the canonizers too. They rewrite the model (canonizers/),
   * which is the caller's step before recording; a composite only assigns rules, so it ignores them.
   */
  canonizers?: readonly unknown[];
}

/**
 * The composites a spec can name (FORMAT.md's `{"name": "epsilon_plus", "args": {...}}`), as an
 * object its caller owns: `with()` gives a registry with more presets and leaves this one as it
 * was, so no caller changes what another one's names mean. `defaultCompositeRegistry` holds the
 * built-in presets and backs `compositeFromSpec`, `compositeNames` and `describeComposites`.
 */
export class CompositeRegistry {
  private readonly presets: ReadonlyMap<string, CompositePreset>;
  constructor(presets: Readonly<Record<string, CompositePreset>> = builtinCompositePresets) {
    this.presets = new Map(Object.entries(presets));
    if (this.presets.has(LAYER_MAP.name)) throw new CompositeConfigError(`'${LAYER_MAP.name}' is the explicit-map composite and cannot be redefined`);
  }

  /** A registry with `preset` under `name` (replacing one of the same name). */
  with(name: string, preset: CompositePreset): CompositeRegistry {
    return new CompositeRegistry({ ...Object.fromEntries(this.presets), [name]: preset });
  }

  /** Every name a spec can use, 'layer_map' last. */
  get names(): string[] {
    return [...this.presets.keys(), LAYER_MAP.name];
  }

  describe(): { name: string; doc: string; keys: string[] }[] {
    return [...[...this.presets].map(([name, p]) => ({ name, doc: p.doc, keys: [...p.keys] })), { ...LAYER_MAP, keys: [...LAYER_MAP.keys] }];
  }

  fromSpec(spec: CompositeSpec): Composite {
    if (spec.name === LAYER_MAP.name) return new MapComposite({ name: LAYER_MAP.name, ...userMapsOf(spec) });
    const preset = typeof spec.name === 'string' ? this.presets.get(spec.name) : undefined;
    if (!preset) throw new CompositeConfigError(`unknown composite '${safeName(spec.name, 60)}' (known: ${this.names.join(', ')})`);
    const args = spec.args ?? {};
    if (typeof args !== 'object' || args === null || Array.isArray(args)) throw new CompositeConfigError(`composite ${spec.name}: args must be an object, got ${showValue(args)}`);
    checkCompositeArgs(spec.name, args, preset.keys);
    return preset.make(args, userMapsOf(spec));
  }
}

function userMapsOf(spec: CompositeSpec): UserMaps {
  return { layerMap: mapFromSpec(spec.layer_map, 'layer_map'), firstMap: mapFromSpec(spec.first_map, 'first_map') };
}

export const defaultCompositeRegistry = new CompositeRegistry();

/** The names the default registry knows. */
export const compositeNames: readonly string[] = defaultCompositeRegistry.names;

export function describeComposites(): { name: string; doc: string; keys: string[] }[] {
  return defaultCompositeRegistry.describe();
}

/** A composite from FORMAT.md's JSON (`{"name": "epsilon_plus", "args": {...}}`), by the default registry. */
export function compositeFromSpec(spec: CompositeSpec): Composite {
  return defaultCompositeRegistry.fromSpec(spec);
}
