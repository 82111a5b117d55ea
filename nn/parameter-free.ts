/** Parameter-free leaf layers: activations, pooling, Flatten, Dropout, Identity, Sum. */
import {
  Tensor, Rng, ShapeError, defaultRng, relu, leakyRelu, tanh, sigmoid, softplus, maxPool2d, avgPool2d,
  adaptiveAvgPool2d, flatten, mul, sum, type Pair,
} from '../engine/index.js';
import { Layer, one, type LayerFn } from './layer.js';

function pairOf(p: Pair | undefined, dflt: number): [number, number] {
  if (p === undefined) return [dflt, dflt];
  return typeof p === 'number' ? [p, p] : [p[0], p[1]];
}

abstract class Activation extends Layer {
  readonly kind = 'Activation';
}

export class ReLU extends Activation {
  protected functional(): LayerFn {
    return (inputs) => relu(one(inputs, 'ReLU'));
  }
}

export class LeakyReLU extends Activation {
  constructor(readonly negativeSlope = 0.01) {
    super();
  }
  protected functional(): LayerFn {
    const s = this.negativeSlope;
    return (inputs) => leakyRelu(one(inputs, 'LeakyReLU'), s);
  }
  override info(): Record<string, unknown> {
    return { negativeSlope: this.negativeSlope };
  }
  override extraRepr(): string {
    return `negative_slope=${this.negativeSlope}`;
  }
}

export class Tanh extends Activation {
  protected functional(): LayerFn {
    return (inputs) => tanh(one(inputs, 'Tanh'));
  }
}

export class Sigmoid extends Activation {
  protected functional(): LayerFn {
    return (inputs) => sigmoid(one(inputs, 'Sigmoid'));
  }
}

export class Softplus extends Activation {
  constructor(
    readonly beta = 1,
    readonly threshold = 20,
  ) {
    super();
  }
  protected functional(): LayerFn {
    const { beta, threshold } = this;
    return (inputs) => softplus(one(inputs, 'Softplus'), beta, threshold);
  }
  override info(): Record<string, unknown> {
    return { beta: this.beta, threshold: this.threshold };
  }
}

export interface MaxPool2dOpts {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  ceilMode?: boolean;
}

export class MaxPool2d extends Layer {
  readonly kind = 'MaxPool';
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly ceilMode: boolean;
  constructor(kernelSize: Pair, opts: MaxPool2dOpts = {}) {
    super();
    this.kernelSize = pairOf(kernelSize, 1);
    this.stride = pairOf(opts.stride ?? kernelSize, 1);
    this.padding = pairOf(opts.padding, 0);
    this.dilation = pairOf(opts.dilation, 1);
    this.ceilMode = opts.ceilMode ?? false;
  }
  protected functional(): LayerFn {
    const { kernelSize, stride, padding, dilation, ceilMode } = this;
    return (inputs) => maxPool2d(one(inputs, 'MaxPool2d'), kernelSize, { stride, padding, dilation, ceilMode });
  }
  override info(): Record<string, unknown> {
    const { kernelSize, stride, padding, dilation, ceilMode } = this;
    return { kernelSize, stride, padding, dilation, ceilMode };
  }
  override extraRepr(): string {
    return `kernel_size=(${this.kernelSize}), stride=(${this.stride}), padding=(${this.padding})`;
  }
}

export interface AvgPool2dOpts {
  stride?: Pair;
  padding?: Pair;
  ceilMode?: boolean;
  /** PyTorch's default true: zero padding counts in the divisor. */
  countIncludePad?: boolean;
  divisorOverride?: number;
}

export class AvgPool2d extends Layer {
  readonly kind = 'AvgPool';
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly ceilMode: boolean;
  readonly countIncludePad: boolean;
  readonly divisorOverride: number | undefined;
  constructor(kernelSize: Pair, opts: AvgPool2dOpts = {}) {
    super();
    this.kernelSize = pairOf(kernelSize, 1);
    this.stride = pairOf(opts.stride ?? kernelSize, 1);
    this.padding = pairOf(opts.padding, 0);
    this.ceilMode = opts.ceilMode ?? false;
    this.countIncludePad = opts.countIncludePad ?? true;
    this.divisorOverride = opts.divisorOverride;
  }
  protected functional(): LayerFn {
    const { kernelSize, stride, padding, ceilMode, countIncludePad, divisorOverride } = this;
    const o = { stride, padding, ceilMode, countIncludePad, ...(divisorOverride !== undefined ? { divisorOverride } : {}) };
    return (inputs) => avgPool2d(one(inputs, 'AvgPool2d'), kernelSize, o);
  }
  override info(): Record<string, unknown> {
    const { kernelSize, stride, padding, ceilMode, countIncludePad } = this;
    return { kernelSize, stride, padding, ceilMode, countIncludePad };
  }
}

export class AdaptiveAvgPool2d extends Layer {
  readonly kind = 'AvgPool';
  readonly outputSize: [number, number];
  constructor(outputSize: Pair) {
    super();
    this.outputSize = pairOf(outputSize, 1);
  }
  protected functional(): LayerFn {
    const s = this.outputSize;
    return (inputs) => adaptiveAvgPool2d(one(inputs, 'AdaptiveAvgPool2d'), s);
  }
  override info(): Record<string, unknown> {
    return { outputSize: this.outputSize };
  }
  override extraRepr(): string {
    return `output_size=(${this.outputSize})`;
  }
}

export class Flatten extends Layer {
  readonly kind = 'Flatten';
  constructor(
    readonly startDim = 1,
    readonly endDim = -1,
  ) {
    super();
  }
  protected functional(): LayerFn {
    const { startDim, endDim } = this;
    return (inputs) => flatten(one(inputs, 'Flatten'), startDim, endDim);
  }
  override info(): Record<string, unknown> {
    return { startDim: this.startDim, endDim: this.endDim };
  }
}

/**
 * Inverted dropout: identity in evaluation mode (nothing is recorded), a seeded mask scaled by
 * 1/(1-p) in training mode. The mask is drawn once per call and fixed in the layer's `fn`.
 */
export class Dropout extends Layer {
  readonly kind = 'Dropout';
  readonly rng: Rng;
  constructor(
    readonly p = 0.5,
    opts: { rng?: Rng } = {},
  ) {
    super();
    if (!(p >= 0 && p <= 1)) throw new ShapeError(`Dropout: p must be in [0, 1], got ${p}`);
    this.rng = opts.rng ?? defaultRng();
  }
  protected functional(): LayerFn {
    return (inputs) => one(inputs, 'Dropout');
  }
  override forward(...inputs: Tensor[]): Tensor {
    const x = one(inputs, 'Dropout');
    if (!this.training || this.p === 0) return x;
    const n = x.size;
    const data = x.dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
    if (this.p < 1) {
      const keep = 1 / (1 - this.p);
      for (let i = 0; i < n; i++) data[i] = this.rng.uniform() >= this.p ? keep : 0;
    }
    const mask = new Tensor(data, x.shape);
    return this.forwardWith([x], {}, (xs) => mul(one(xs, 'Dropout'), mask));
  }
  override info(): Record<string, unknown> {
    return { p: this.p, training: this.training };
  }
  override extraRepr(): string {
    return `p=${this.p}`;
  }
}

/** Hands its input back (no layer is recorded). */
export class Identity extends Layer {
  readonly kind = 'Identity';
  protected functional(): LayerFn {
    return (inputs) => one(inputs, 'Identity');
  }
}

/**
 * Sums its single input over the last dim: the explicit residual sum a ResNet canonizer puts
 * over `stack([identity, residual], -1)`, so that a rule (Norm) can attach to it.
 */
export class Sum extends Layer {
  readonly kind = 'Sum';
  constructor(readonly dim = -1) {
    super();
  }
  protected functional(): LayerFn {
    const d = this.dim;
    return (inputs) => sum(one(inputs, 'Sum'), [d]);
  }
  override info(): Record<string, unknown> {
    return { dim: this.dim };
  }
}
