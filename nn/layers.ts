/** Parameterised leaf layers: Linear, Conv2d, BatchNorm1d/2d. */
import { Tensor, ShapeError, shapeStr, linear, conv2d, batchNorm, type Rng, type Pair, type Shape } from '../engine/index.js';
import { Layer, one, type LayerFn } from './layer.js';
import { constant, defaultWeightAndBias, type FloatDType } from './init.js';

export interface LayerInit {
  /** Parameter dtype (float32 by default). */
  dtype?: FloatDType;
  /** Seeded source for the initial weights (the engine's default generator otherwise). */
  rng?: Rng;
  /** 'empty': zeros instead of random initial weights, for weights loaded right after (nn/init.ts). */
  init?: 'random' | 'empty';
}

/** Custom initialisers for Linear/Conv2d (torchvision's models use their own); PyTorch's defaults otherwise. */
export interface WeightInit extends LayerInit {
  weightInit?: (shape: Shape, o: LayerInit) => Tensor;
  biasInit?: (shape: Shape, o: LayerInit) => Tensor;
}

function initWeightAndBias(wShape: Shape, withBias: boolean, o: WeightInit): { weight: Tensor; bias: Tensor | null } {
  if (!o.weightInit && !o.biasInit) return defaultWeightAndBias(wShape, withBias, o);
  const d = o.weightInit && (!withBias || o.biasInit) ? null : defaultWeightAndBias(wShape, withBias, o);
  const weight = o.weightInit ? o.weightInit(wShape, o) : d!.weight;
  const bias = !withBias ? null : o.biasInit ? o.biasInit([wShape[0]!], o) : d!.bias;
  return { weight, bias };
}

function pairOf(p: Pair | undefined, dflt: number): [number, number] {
  if (p === undefined) return [dflt, dflt];
  return typeof p === 'number' ? [p, p] : [p[0], p[1]];
}

/** y = x Wᵀ + b; weight [out, in]. */
export class Linear extends Layer {
  readonly kind = 'Dense';
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    opts: WeightInit & { bias?: boolean } = {},
  ) {
    super();
    const { weight, bias } = initWeightAndBias([outFeatures, inFeatures], opts.bias ?? true, opts);
    this.registerParameter('weight', weight);
    this.registerParameter('bias', bias);
  }
  get weight(): Tensor {
    return this.getParameter('weight')!;
  }
  get bias(): Tensor | null {
    return this.getParameter('bias');
  }
  protected functional(): LayerFn {
    return (inputs, p) => linear(one(inputs, 'Linear'), p.weight!, p.bias ?? null);
  }
  override info(): Record<string, unknown> {
    return { inFeatures: this.inFeatures, outFeatures: this.outFeatures };
  }
  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${this.bias !== null}`;
  }
}

export interface Conv2dOpts extends WeightInit {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
  bias?: boolean;
}

/** PyTorch's Conv2d (cross-correlation, zero padding); weight [out, in/groups, kh, kw]. */
export class Conv2d extends Layer {
  readonly kind = 'Convolution';
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: Pair,
    opts: Conv2dOpts = {},
  ) {
    super();
    this.kernelSize = pairOf(kernelSize, 1);
    this.stride = pairOf(opts.stride, 1);
    this.padding = pairOf(opts.padding, 0);
    this.dilation = pairOf(opts.dilation, 1);
    this.groups = opts.groups ?? 1;
    if (inChannels % this.groups || outChannels % this.groups) {
      throw new ShapeError(`Conv2d: in_channels ${inChannels} and out_channels ${outChannels} must be divisible by groups ${this.groups}`);
    }
    const { weight, bias } = initWeightAndBias([outChannels, inChannels / this.groups, ...this.kernelSize], opts.bias ?? true, opts);
    this.registerParameter('weight', weight);
    this.registerParameter('bias', bias);
  }
  get weight(): Tensor {
    return this.getParameter('weight')!;
  }
  get bias(): Tensor | null {
    return this.getParameter('bias');
  }
  protected functional(): LayerFn {
    const o = { stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups };
    return (inputs, p) => conv2d(one(inputs, 'Conv2d'), p.weight!, p.bias ?? null, o);
  }
  override info(): Record<string, unknown> {
    const { inChannels, outChannels, kernelSize, stride, padding, dilation, groups } = this;
    return { inChannels, outChannels, kernelSize, stride, padding, dilation, groups };
  }
  override extraRepr(): string {
    return `${this.inChannels}, ${this.outChannels}, kernel_size=(${this.kernelSize}), stride=(${this.stride}), padding=(${this.padding})${this.bias ? '' : ', bias=False'}`;
  }
}

export interface BatchNormOpts extends LayerInit {
  eps?: number;
  /** Running-average factor (0.1); null gives the cumulative average, as PyTorch. */
  momentum?: number | null;
  affine?: boolean;
}

/**
 * Batch norm over dim 1. Training mode normalises with the batch statistics and updates the
 * running statistics (unbiased variance, PyTorch's momentum rule) by replacing the buffers;
 * evaluation mode uses the running statistics. `num_batches_tracked` is an int32 scalar buffer
 * (I64 in safetensors files).
 */
abstract class BatchNormBase extends Layer {
  readonly kind = 'BatchNorm';
  readonly eps: number;
  readonly momentum: number | null;
  protected abstract readonly dims: readonly number[];
  constructor(
    readonly numFeatures: number,
    opts: BatchNormOpts = {},
  ) {
    super();
    this.eps = opts.eps ?? 1e-5;
    this.momentum = opts.momentum === undefined ? 0.1 : opts.momentum;
    const affine = opts.affine ?? true;
    this.registerParameter('weight', affine ? constant([numFeatures], 1, opts) : null);
    this.registerParameter('bias', affine ? constant([numFeatures], 0, opts) : null);
    this.registerBuffer('running_mean', constant([numFeatures], 0, opts));
    this.registerBuffer('running_var', constant([numFeatures], 1, opts));
    this.registerBuffer('num_batches_tracked', new Tensor(new Int32Array(1), []));
  }
  get weight(): Tensor | null {
    return this.getParameter('weight');
  }
  get bias(): Tensor | null {
    return this.getParameter('bias');
  }
  get runningMean(): Tensor {
    return this.getBuffer('running_mean')!;
  }
  get runningVar(): Tensor {
    return this.getBuffer('running_var')!;
  }
  get numBatchesTracked(): number {
    return this.getBuffer('num_batches_tracked')!.data[0]!;
  }

  private check(x: Tensor): void {
    if (!this.dims.includes(x.ndim)) throw new ShapeError(`${this.typeName} '${this.fullName}': expected ${this.dims.join('-D or ')}-D input, got ${shapeStr(x.shape)}`);
    if (x.shape[1] !== this.numFeatures) throw new ShapeError(`${this.typeName} '${this.fullName}': expected ${this.numFeatures} channels, got ${shapeStr(x.shape)}`);
  }

  /** Evaluation: fixed running statistics (captured for this call). Training: batch statistics. */
  protected functional(): LayerFn {
    const training = this.training;
    const rm = this.runningMean;
    const rv = this.runningVar;
    const eps = this.eps;
    return (inputs, p) => {
      const x = one(inputs, this.typeName);
      return batchNorm(x, training ? null : rm, training ? null : rv, p.weight ?? null, p.bias ?? null, { training, eps }).output;
    };
  }

  override forward(...inputs: Tensor[]): Tensor {
    const x = one(inputs, this.typeName);
    this.check(x);
    if (!this.training) return super.forward(x);
    if (x.size / x.shape[1]! <= 1) throw new ShapeError(`${this.typeName} '${this.fullName}': expected more than 1 value per channel when training, got input ${shapeStr(x.shape)}`);
    const params = this.layerParams();
    return this.forwardWith([x], params, this.functional(), () => {
      const nbt = this.numBatchesTracked + 1;
      const momentum = this.momentum ?? 1 / nbt;
      const r = batchNorm(x, this.runningMean, this.runningVar, params.weight ?? null, params.bias ?? null, { training: true, momentum, eps: this.eps });
      this.setBuffer('running_mean', r.runningMean!);
      this.setBuffer('running_var', r.runningVar!);
      this.setBuffer('num_batches_tracked', new Tensor(new Int32Array([nbt]), []));
      return r.output;
    });
  }

  override info(): Record<string, unknown> {
    return { numFeatures: this.numFeatures, eps: this.eps, momentum: this.momentum, training: this.training, runningMean: this.runningMean, runningVar: this.runningVar };
  }
  override extraRepr(): string {
    return `${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum}`;
  }
}

/** Batch norm of [N, C] or [N, C, L]. */
export class BatchNorm1d extends BatchNormBase {
  protected readonly dims = [2, 3];
}

/** Batch norm of [N, C, H, W]. */
export class BatchNorm2d extends BatchNormBase {
  protected readonly dims = [4];
}
