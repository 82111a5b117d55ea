/** torchvision's VGG (configurations A, B, D, E; optional batch norm), torchvision's names and init. */
import { Tensor, flatten } from '../engine/index.js';
import { Module, Sequential, Conv2d, BatchNorm2d, ReLU, MaxPool2d, AdaptiveAvgPool2d, Linear, Dropout, init, type LayerInit } from '../nn/index.js';

export type VGGConfig = readonly (number | 'M')[];

export const VGG_CFGS = {
  A: [64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  B: [64, 64, 'M', 128, 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  D: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M'],
  E: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 256, 'M', 512, 512, 512, 512, 'M', 512, 512, 512, 512, 'M'],
} as const satisfies Record<string, VGGConfig>;

export interface VGGOptions extends LayerInit {
  /** A torchvision configuration name or a custom list of conv widths and 'M' (max pool). */
  cfg: keyof typeof VGG_CFGS | VGGConfig;
  batchNorm?: boolean;
  numClasses?: number;
  /** Width of the two hidden classifier layers (torchvision: 4096). */
  hidden?: number;
  /** Output size of the adaptive average pool (torchvision: 7). */
  poolSize?: number;
  dropout?: number;
  inChannels?: number;
  /** Multiplies every convolution width (rounded, at least 1): small models with torchvision's names. */
  widthScale?: number;
}

export class VGG extends Module {
  readonly features: Sequential;
  readonly avgpool: AdaptiveAvgPool2d;
  readonly classifier: Sequential;

  constructor(opts: VGGOptions) {
    super();
    const cfg: VGGConfig = typeof opts.cfg === 'string' ? VGG_CFGS[opts.cfg] : opts.cfg;
    if (!cfg) throw new Error(`VGG: unknown configuration '${String(opts.cfg)}' (A, B, D, E or a list)`);
    const o: LayerInit = { ...(opts.dtype ? { dtype: opts.dtype } : {}), ...(opts.rng ? { rng: opts.rng } : {}), ...(opts.init ? { init: opts.init } : {}) };
    // torchvision's _initialize_weights: conv kaiming_normal(fan_out, relu) with zero bias;
    // batch norm 1/0; linear N(0, 0.01) with zero bias.
    const convInit = {
      ...o,
      weightInit: (s: readonly number[], io: LayerInit) => init.kaimingNormal(s, { ...io, mode: 'fan_out', nonlinearity: 'relu' }),
      biasInit: (s: readonly number[], io: LayerInit) => init.constant(s, 0, io),
    };
    const linInit = {
      ...o,
      weightInit: (s: readonly number[], io: LayerInit) => init.normal(s, 0, 0.01, io),
      biasInit: (s: readonly number[], io: LayerInit) => init.constant(s, 0, io),
    };
    this.features = this.registerModule('features', new Sequential());
    let c = opts.inChannels ?? 3;
    for (const v of cfg) {
      if (v === 'M') {
        this.features.append(new MaxPool2d(2, { stride: 2 }));
        continue;
      }
      const w = Math.max(1, Math.round(v * (opts.widthScale ?? 1)));
      this.features.append(new Conv2d(c, w, 3, { padding: 1, ...convInit }));
      if (opts.batchNorm) this.features.append(new BatchNorm2d(w, o));
      this.features.append(new ReLU());
      c = w;
    }
    const pool = opts.poolSize ?? 7;
    const hidden = opts.hidden ?? 4096;
    const p = opts.dropout ?? 0.5;
    const rng = opts.rng ? { rng: opts.rng } : {};
    this.avgpool = this.registerModule('avgpool', new AdaptiveAvgPool2d(pool));
    this.classifier = this.registerModule(
      'classifier',
      new Sequential(
        new Linear(c * pool * pool, hidden, linInit),
        new ReLU(),
        new Dropout(p, rng),
        new Linear(hidden, hidden, linInit),
        new ReLU(),
        new Dropout(p, rng),
        new Linear(hidden, opts.numClasses ?? 1000, linInit),
      ),
    );
  }

  override forward(x: Tensor): Tensor {
    // torchvision flattens with the functional torch.flatten (an op-level layer here).
    return this.classifier.call(flatten(this.avgpool.call(this.features.call(x)), 1));
  }
}

export type VGGBuilderOptions = Omit<VGGOptions, 'cfg' | 'batchNorm'>;

export const vgg11 = (o: VGGBuilderOptions = {}): VGG => new VGG({ ...o, cfg: 'A' });
export const vgg11_bn = (o: VGGBuilderOptions = {}): VGG => new VGG({ ...o, cfg: 'A', batchNorm: true });
export const vgg13 = (o: VGGBuilderOptions = {}): VGG => new VGG({ ...o, cfg: 'B' });
export const vgg13_bn = (o: VGGBuilderOptions = {}): VGG => new VGG({ ...o, cfg: 'B', batchNorm: true });
export const vgg16 = (o: VGGBuilderOptions = {}): VGG => new VGG({ ...o, cfg: 'D' });
export const vgg16_bn = (o: VGGBuilderOptions = {}): VGG => new VGG({ ...o, cfg: 'D', batchNorm: true });
export const vgg19 = (o: VGGBuilderOptions = {}): VGG => new VGG({ ...o, cfg: 'E' });
export const vgg19_bn = (o: VGGBuilderOptions = {}): VGG => new VGG({ ...o, cfg: 'E', batchNorm: true });
