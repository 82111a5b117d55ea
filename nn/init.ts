/**
 * PyTorch's initialisers (torch.nn.init), drawing from a seeded `Rng`. They build new leaf tensors
 * (tensors are never written in place once handed out).
 */
import { Tensor, Rng, defaultRng, type Shape } from '../engine/index.js';
import { allocStorage } from './statedict.js';

export type FloatDType = 'float32' | 'float64';

export interface InitOptions {
  dtype?: FloatDType;
  rng?: Rng;
  /**
   * 'empty': the random initialisers return zeros without drawing (PyTorch's `torch.empty` /
   * meta-device construction), for a model whose weights are loaded right after: a VGG-16's
   * 0.5 GiB of random weights would otherwise be computed only to become garbage at the load,
   * still resident when the first explanation starts. Constants (biases, batch-norm statistics)
   * are filled either way. Default 'random'.
   */
  init?: 'random' | 'empty';
}

function make(shape: Shape, dtype: FloatDType, fill: ((i: number) => number) | null): Tensor {
  let n = 1;
  for (const d of shape) n *= d;
  // Fresh storage is zeros, and untouched pages of a large one are not resident yet.
  const data = allocStorage(dtype, n);
  if (fill) for (let i = 0; i < n; i++) data[i] = fill(i);
  return new Tensor(data, shape);
}

/** (fan_in, fan_out) as torch.nn.init._calculate_fan_in_and_fan_out. */
export function fans(shape: Shape): [number, number] {
  if (shape.length < 2) throw new Error(`fan in and fan out need at least 2 dims, got [${shape.join(', ')}]`);
  let receptive = 1;
  for (const d of shape.slice(2)) receptive *= d;
  return [shape[1]! * receptive, shape[0]! * receptive];
}

export function uniform(shape: Shape, low: number, high: number, o: InitOptions = {}): Tensor {
  if (o.init === 'empty') return make(shape, o.dtype ?? 'float32', null);
  const rng = o.rng ?? defaultRng();
  return make(shape, o.dtype ?? 'float32', () => low + (high - low) * rng.uniform());
}

export function normal(shape: Shape, mean: number, std: number, o: InitOptions = {}): Tensor {
  if (o.init === 'empty') return make(shape, o.dtype ?? 'float32', null);
  const rng = o.rng ?? defaultRng();
  return make(shape, o.dtype ?? 'float32', () => mean + std * rng.normal());
}

export function constant(shape: Shape, value: number, o: InitOptions = {}): Tensor {
  return make(shape, o.dtype ?? 'float32', () => value);
}

function gain(nonlinearity: 'relu' | 'leaky_relu' | 'linear', a: number): number {
  if (nonlinearity === 'relu') return Math.SQRT2;
  if (nonlinearity === 'leaky_relu') return Math.sqrt(2 / (1 + a * a));
  return 1;
}

export interface KaimingOptions extends InitOptions {
  a?: number;
  mode?: 'fan_in' | 'fan_out';
  nonlinearity?: 'relu' | 'leaky_relu' | 'linear';
}

/** kaiming_uniform_: U(-b, b), b = gain * sqrt(3 / fan). Defaults as PyTorch (a = 0, fan_in, leaky_relu). */
export function kaimingUniform(shape: Shape, o: KaimingOptions = {}): Tensor {
  const [fi, fo] = fans(shape);
  const fan = (o.mode ?? 'fan_in') === 'fan_in' ? fi : fo;
  const bound = gain(o.nonlinearity ?? 'leaky_relu', o.a ?? 0) * Math.sqrt(3 / fan);
  return uniform(shape, -bound, bound, o);
}

/** kaiming_normal_: N(0, (gain / sqrt(fan))^2). torchvision's conv init is mode 'fan_out', nonlinearity 'relu'. */
export function kaimingNormal(shape: Shape, o: KaimingOptions = {}): Tensor {
  const [fi, fo] = fans(shape);
  const fan = (o.mode ?? 'fan_in') === 'fan_in' ? fi : fo;
  return normal(shape, 0, gain(o.nonlinearity ?? 'leaky_relu', o.a ?? 0) / Math.sqrt(fan), o);
}

/**
 * The default of nn.Linear and nn.Conv2d (`reset_parameters`): weight kaiming_uniform(a = sqrt(5)),
 * i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)); bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
 */
export function defaultWeightAndBias(wShape: Shape, withBias: boolean, o: InitOptions): { weight: Tensor; bias: Tensor | null } {
  const weight = kaimingUniform(wShape, { ...o, a: Math.sqrt(5) });
  const [fanIn] = fans(wShape);
  const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
  const bias = withBias ? uniform([wShape[0]!], -bound, bound, o) : null;
  return { weight, bias };
}
