/**
 * Builds a model from the reference cases' JSON spec (spec/fixtures/FORMAT.md): `Sequential` trees
 * of PyTorch leaves with PyTorch's constructor argument names, and torchvision's `ResNet` with
 * configurable stage widths. Unknown keys are ignored; unknown types and bad arguments fail with
 * the type, the module name and the path inside the spec.
 */
import type { Pair } from '../engine/index.js';
import {
  Module, Sequential, Linear, Conv2d, BatchNorm1d, BatchNorm2d, ReLU, LeakyReLU, Tanh, Sigmoid, Softplus, MaxPool2d, AvgPool2d,
  AdaptiveAvgPool2d, Flatten, Dropout, Identity, Sum, type LayerInit,
} from '../nn/index.js';
import { ResNet, type BlockType } from './resnet.js';
import { VGG, type VGGConfig } from './vgg.js';
import { VisionTransformer, Transformer } from './vit.js';
import { DataError, safeName } from '../engine/errors.js';

export type ModelSpec = { type: string; [key: string]: unknown };

export class ModelSpecError extends DataError {
  override name = 'ModelSpecError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'ERR_MODEL_SPEC', options);
  }
}

class Ctx {
  constructor(
    readonly spec: Record<string, unknown>,
    readonly path: string,
    readonly name: string,
  ) {}
  where(): string {
    return `${safeName(String(this.spec.type), 60)} at ${this.name === '' ? '<root>' : `'${safeName(this.name, 80)}'`} (spec path ${safeName(this.path, 200)})`;
  }
  fail(msg: string): never {
    throw new ModelSpecError(`buildFromSpec: ${this.where()}: ${msg}`);
  }
  has(key: string): boolean {
    return this.spec[key] !== undefined && this.spec[key] !== null;
  }
  int(key: string, dflt?: number): number {
    const v = this.spec[key] ?? dflt;
    if (v === undefined) this.fail(`missing '${key}'`);
    if (!Number.isInteger(v)) this.fail(`'${key}' must be an integer, got ${JSON.stringify(v)}`);
    return v as number;
  }
  num(key: string, dflt?: number): number {
    const v = this.spec[key] ?? dflt;
    if (v === undefined) this.fail(`missing '${key}'`);
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(`'${key}' must be a number, got ${JSON.stringify(v)}`);
    return v;
  }
  bool(key: string, dflt: boolean): boolean {
    const v = this.spec[key] ?? dflt;
    if (typeof v !== 'boolean') this.fail(`'${key}' must be a boolean, got ${JSON.stringify(v)}`);
    return v;
  }
  pair(key: string, dflt?: Pair): [number, number] {
    const v = this.spec[key] ?? dflt;
    if (v === undefined) this.fail(`missing '${key}'`);
    if (Number.isInteger(v)) return [v as number, v as number];
    if (Array.isArray(v) && v.length === 2 && v.every((x) => Number.isInteger(x))) return [v[0], v[1]];
    return this.fail(`'${key}' must be an integer or a pair of integers, got ${JSON.stringify(v)}`);
  }
  ints(key: string, n: number, dflt?: readonly number[]): number[] {
    const v = this.spec[key] ?? dflt;
    if (!Array.isArray(v) || v.length !== n || !v.every((x) => Number.isInteger(x))) this.fail(`'${key}' must be a list of ${n} integers, got ${JSON.stringify(v)}`);
    return v as number[];
  }
}

const LEAVES: Record<string, (c: Ctx, o: LayerInit) => Module> = {
  Linear: (c, o) => new Linear(c.int('in_features'), c.int('out_features'), { ...o, bias: c.bool('bias', true) }),
  Conv2d: (c, o) => {
    if (typeof c.spec.padding === 'string') c.fail(`string padding '${c.spec.padding}' is not supported`);
    if (c.has('padding_mode') && c.spec.padding_mode !== 'zeros') c.fail(`padding_mode '${String(c.spec.padding_mode)}' is not supported`);
    return new Conv2d(c.int('in_channels'), c.int('out_channels'), c.pair('kernel_size'), {
      ...o,
      stride: c.pair('stride', 1),
      padding: c.pair('padding', 0),
      dilation: c.pair('dilation', 1),
      groups: c.int('groups', 1),
      bias: c.bool('bias', true),
    });
  },
  BatchNorm1d: (c, o) => new BatchNorm1d(c.int('num_features'), { ...o, ...bnArgs(c) }),
  BatchNorm2d: (c, o) => new BatchNorm2d(c.int('num_features'), { ...o, ...bnArgs(c) }),
  ReLU: () => new ReLU(),
  LeakyReLU: (c) => new LeakyReLU(c.num('negative_slope', 0.01)),
  Tanh: () => new Tanh(),
  Sigmoid: () => new Sigmoid(),
  Softplus: (c) => new Softplus(c.num('beta', 1), c.num('threshold', 20)),
  MaxPool2d: (c) => {
    const k = c.pair('kernel_size');
    return new MaxPool2d(k, { stride: c.has('stride') ? c.pair('stride') : k, padding: c.pair('padding', 0), dilation: c.pair('dilation', 1), ceilMode: c.bool('ceil_mode', false) });
  },
  AvgPool2d: (c) => {
    const k = c.pair('kernel_size');
    const div = c.has('divisor_override') ? { divisorOverride: c.int('divisor_override') } : {};
    return new AvgPool2d(k, {
      stride: c.has('stride') ? c.pair('stride') : k,
      padding: c.pair('padding', 0),
      ceilMode: c.bool('ceil_mode', false),
      countIncludePad: c.bool('count_include_pad', true),
      ...div,
    });
  },
  AdaptiveAvgPool2d: (c) => new AdaptiveAvgPool2d(c.pair('output_size')),
  Flatten: (c) => new Flatten(c.int('start_dim', 1), c.int('end_dim', -1)),
  Dropout: (c) => new Dropout(c.num('p', 0.5)),
  Identity: () => new Identity(),
  Sum: (c) => new Sum(c.int('dim', -1)),
  ResNet: (c, o) => {
    const block = c.spec.block;
    if (block !== 'BasicBlock' && block !== 'Bottleneck') c.fail(`'block' must be "BasicBlock" or "Bottleneck", got ${JSON.stringify(block)}`);
    return new ResNet({
      ...o,
      block: block as BlockType,
      layers: c.ints('layers', 4) as [number, number, number, number],
      planes: c.ints('planes', 4, [64, 128, 256, 512]) as [number, number, number, number],
      numClasses: c.int('num_classes', 1000),
      inChannels: c.int('in_channels', 3),
    });
  },
  VGG: (c, o) => {
    const cfg = c.spec.cfg;
    const okList = Array.isArray(cfg) && cfg.every((v) => v === 'M' || Number.isInteger(v));
    if (!(okList || cfg === 'A' || cfg === 'B' || cfg === 'D' || cfg === 'E')) c.fail(`'cfg' must be A, B, D, E or a list of widths and "M", got ${JSON.stringify(cfg)}`);
    return new VGG({
      ...o,
      cfg: cfg as VGGConfig,
      batchNorm: c.bool('batch_norm', false),
      numClasses: c.int('num_classes', 1000),
      hidden: c.int('hidden', 4096),
      poolSize: c.int('pool_size', 7),
      inChannels: c.int('in_channels', 3),
    });
  },
};

function geluOnly(c: Ctx): void {
  if (c.has('act_layer') && c.spec.act_layer !== 'GELU') c.fail(`act_layer '${String(c.spec.act_layer)}' is not supported (only "GELU", exact)`);
}

const TRANSFORMERS: Record<string, (c: Ctx, o: LayerInit) => Module> = {
  VisionTransformer: (c, o) => {
    geluOnly(c);
    if (c.has('class_token') && c.spec.class_token !== true) c.fail(`only class_token: true is supported`);
    if (c.has('causal') && c.spec.causal !== false) c.fail(`a VisionTransformer takes no causal mask (its class token attends to every patch); 'causal' must be false or absent`);
    const pool = c.spec.global_pool ?? 'token';
    if (pool !== 'token' && pool !== 'avg') c.fail(`'global_pool' must be "token" or "avg", got ${JSON.stringify(pool)}`);
    return new VisionTransformer({
      ...o,
      imgSize: c.pair('img_size'),
      patchSize: c.int('patch_size'),
      inChans: c.int('in_chans', 3),
      embedDim: c.int('embed_dim'),
      depth: c.int('depth'),
      numHeads: c.int('num_heads'),
      mlpRatio: c.num('mlp_ratio', 4),
      qkvBias: c.bool('qkv_bias', true),
      numClasses: c.int('num_classes'),
      globalPool: pool as 'token' | 'avg',
      layerNormEps: c.num('layer_norm_eps', 1e-6),
    });
  },
  Transformer: (c, o) => {
    geluOnly(c);
    const pool = c.spec.pool ?? 'last';
    if (pool !== 'last' && pool !== 'mean') c.fail(`'pool' must be "last" or "mean", got ${JSON.stringify(pool)}`);
    return new Transformer({
      ...o,
      embedDim: c.int('embed_dim'),
      depth: c.int('depth'),
      numHeads: c.int('num_heads'),
      mlpRatio: c.num('mlp_ratio', 4),
      qkvBias: c.bool('qkv_bias', true),
      numClasses: c.int('num_classes'),
      pool: pool as 'last' | 'mean',
      causal: c.bool('causal', false),
      layerNormEps: c.num('layer_norm_eps', 1e-6),
    });
  },
};
Object.assign(LEAVES, TRANSFORMERS);

function bnArgs(c: Ctx): { eps: number; momentum: number | null; affine: boolean } {
  const momentum = c.spec.momentum === null ? null : c.num('momentum', 0.1);
  return { eps: c.num('eps', 1e-5), momentum, affine: c.bool('affine', true) };
}

/** The types `buildFromSpec` knows. */
export const SPEC_TYPES: readonly string[] = ['Sequential', ...Object.keys(LEAVES)];

function build(spec: unknown, path: string, name: string, o: LayerInit): Module {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec) || typeof (spec as ModelSpec).type !== 'string') {
    throw new ModelSpecError(`buildFromSpec: expected an object with a string 'type' at ${name === '' ? '<root>' : `'${safeName(name, 80)}'`} (spec path ${safeName(path, 200)}), got ${JSON.stringify(spec)?.slice(0, 80)}`);
  }
  const s = spec as ModelSpec;
  const c: Ctx = new Ctx(s, path, name);
  if (s.type === 'Sequential') {
    const kids = s.children;
    if (!Array.isArray(kids)) return c.fail(`'children' must be a list of [name, spec] pairs`);
    const seq = new Sequential();
    kids.forEach((entry, i) => {
      const p = `${path}.children[${i}]`;
      if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== 'string') {
        throw new ModelSpecError(`buildFromSpec: Sequential at ${name === '' ? '<root>' : `'${safeName(name, 80)}'`}: children[${i}] (spec path ${safeName(p, 200)}) must be a [name, spec] pair`);
      }
      const childName = entry[0];
      seq.registerModule(childName, build(entry[1], `${p}[1]`, name ? `${name}.${childName}` : childName, o));
    });
    return seq;
  }
  const make = Object.prototype.hasOwnProperty.call(LEAVES, s.type) ? LEAVES[s.type] : undefined;
  if (!make) return c.fail(`unknown model type '${s.type}'; supported: ${SPEC_TYPES.join(', ')}`);
  return make(c, o);
}

/** A model (in training mode, as PyTorch constructs it: call `.eval()` for inference) from a spec. */
export function buildFromSpec(spec: unknown, opts: LayerInit = {}): Module {
  return build(spec, '$', '', opts);
}
