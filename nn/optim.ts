/**
 * SGD and Adam with PyTorch's update rules.
 *
 * THE one sanctioned in-place write of the library: `step()` writes the new values into the
 * parameter tensors' `data` arrays (everywhere else tensors are immutable, which is what keeps
 * saved tensors valid for a backward). Consequences, as in PyTorch: a graph recorded before the
 * step that is still retained sees the updated values; `step()` refuses to run while a forward is
 * being recorded. Gradients are read from `.grad` (filled by `loss.backward()`), accumulated in
 * float64 locals and written back in the parameter's dtype.
 *
 * Give the optimizer the MODULE (`new SGD(model, ...)`) rather than `model.parameters()` when the
 * model's parameters may be replaced later (`loadStateDict`, `to()`): parameters are then looked up
 * by name at every step and the optimizer state is kept per name. With a list of tensors the state
 * is kept per tensor object.
 */
import { Tensor, DTypeError, ShapeError, currentRecording, shapeStr, markModified } from '../engine/index.js';
import { Module } from './module.js';

export type ParamSource = Module | Iterable<Tensor>;

/** Optimizer state of one parameter: its own step count and per-element buffers. */
export interface ParamState {
  size: number;
  t: number;
  bufs: Float64Array[];
}

export abstract class Optimizer {
  private readonly module: Module | null;
  private readonly list: Tensor[];
  private readonly state = new Map<string | Tensor, ParamState>();
  /** Number of completed steps. */
  steps = 0;

  constructor(params: ParamSource) {
    if (params instanceof Module) {
      this.module = params;
      this.list = [];
    } else {
      this.module = null;
      this.list = [...params];
      for (const p of this.list) {
        if (!(p instanceof Tensor)) throw new TypeError('optimizer: params must be tensors or a Module');
        if (!p.isLeaf) throw new Error(`optimizer: can only optimize leaf tensors, got a non-leaf of shape ${shapeStr(p.shape)}`);
      }
    }
  }

  /** The current parameters with their state keys. */
  protected entries(): [string | Tensor, Tensor][] {
    return this.module ? this.module.namedParameters() : this.list.map((p) => [p, p]);
  }

  params(): Tensor[] {
    return this.entries().map(([, p]) => p);
  }

  /** Clears `.grad` of every parameter (PyTorch's set_to_none default). */
  zeroGrad(): void {
    for (const [, p] of this.entries()) p.grad = null;
  }

  /** The state of one parameter (fresh when first seen or when its size changed). */
  private stateOf(key: string | Tensor, size: number): ParamState {
    let s = this.state.get(key);
    if (!s || s.size !== size) {
      s = { size, t: 0, bufs: Array.from({ length: this.stateBuffers }, () => new Float64Array(size)) };
      this.state.set(key, s);
    }
    return s;
  }

  /** Number of per-element float64 state arrays each parameter needs. */
  protected abstract readonly stateBuffers: number;

  /** Applies one update to every parameter that has a gradient. */
  step(): void {
    if (currentRecording()) throw new Error('optimizer.step(): not allowed while a forward is being recorded');
    this.steps++;
    for (const [key, p] of this.entries()) {
      const g = p.grad;
      if (!g) continue;
      if (g.size !== p.size) throw new ShapeError(`optimizer: gradient ${shapeStr(g.shape)} for parameter ${shapeStr(p.shape)}`);
      if (p.dtype === 'int32') throw new DTypeError('optimizer: cannot update an int32 tensor');
      const st = this.stateOf(key, p.size);
      st.t++;
      this.update(st, p.data as Float32Array | Float64Array, g.data as Float32Array | Float64Array);
      markModified(p);
    }
  }

  protected abstract update(state: ParamState, w: Float32Array | Float64Array, g: Float32Array | Float64Array): void;
}

export interface SGDOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
  maximize?: boolean;
}

/**
 * torch.optim.SGD: d = g + wd·w; with momentum, b = d on the first step, then
 * b = μ·b + (1 − dampening)·d; d = nesterov ? d + μ·b : b; w = w − lr·d.
 */
export class SGD extends Optimizer {
  lr: number;
  readonly momentum: number;
  readonly dampening: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;
  readonly maximize: boolean;
  protected readonly stateBuffers: number;

  constructor(params: ParamSource, o: SGDOptions) {
    super(params);
    this.lr = o.lr;
    this.momentum = o.momentum ?? 0;
    this.dampening = o.dampening ?? 0;
    this.weightDecay = o.weightDecay ?? 0;
    this.nesterov = o.nesterov ?? false;
    this.maximize = o.maximize ?? false;
    this.stateBuffers = this.momentum !== 0 ? 1 : 0;
    if (!(this.lr >= 0)) throw new RangeError(`SGD: invalid learning rate ${o.lr}`);
    if (this.momentum < 0) throw new RangeError(`SGD: invalid momentum ${this.momentum}`);
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) throw new RangeError('SGD: nesterov needs momentum > 0 and zero dampening');
  }

  protected update(state: ParamState, w: Float32Array | Float64Array, g: Float32Array | Float64Array): void {
    const { lr, momentum: mu, dampening, weightDecay: wd, nesterov } = this;
    const sign = this.maximize ? -1 : 1;
    const buf = mu !== 0 ? state.bufs[0]! : null;
    const first = state.t === 1;
    for (let i = 0; i < w.length; i++) {
      let d = sign * g[i]! + wd * w[i]!;
      if (buf) {
        buf[i] = first ? d : mu * buf[i]! + (1 - dampening) * d;
        d = nesterov ? d + mu * buf[i]! : buf[i]!;
      }
      w[i] = w[i]! - lr * d;
    }
  }
}

export interface AdamOptions {
  lr?: number;
  betas?: readonly [number, number];
  eps?: number;
  weightDecay?: number;
  amsgrad?: boolean;
  maximize?: boolean;
}

/**
 * torch.optim.Adam (L2 weight decay added to the gradient, not AdamW): g' = g + wd·w;
 * m = β1·m + (1 − β1)·g'; v = β2·v + (1 − β2)·g'²; w = w − lr/(1 − β1ᵗ) · m / (√v / √(1 − β2ᵗ) + eps).
 * The step count t is kept per parameter.
 */
export class Adam extends Optimizer {
  lr: number;
  readonly betas: readonly [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  readonly amsgrad: boolean;
  readonly maximize: boolean;
  protected readonly stateBuffers = 3;

  constructor(params: ParamSource, o: AdamOptions = {}) {
    super(params);
    this.lr = o.lr ?? 1e-3;
    this.betas = o.betas ?? [0.9, 0.999];
    this.eps = o.eps ?? 1e-8;
    this.weightDecay = o.weightDecay ?? 0;
    this.amsgrad = o.amsgrad ?? false;
    this.maximize = o.maximize ?? false;
    if (!(this.lr >= 0)) throw new RangeError(`Adam: invalid learning rate ${o.lr}`);
    for (const b of this.betas) if (!(b >= 0 && b < 1)) throw new RangeError(`Adam: invalid beta ${b}`);
  }

  protected update(state: ParamState, w: Float32Array | Float64Array, g: Float32Array | Float64Array): void {
    const [b1, b2] = this.betas;
    const { lr, eps, weightDecay: wd } = this;
    const sign = this.maximize ? -1 : 1;
    const [m, v, vmax] = state.bufs as [Float64Array, Float64Array, Float64Array];
    const t = state.t;
    const bc1 = 1 - Math.pow(b1, t);
    const bc2sqrt = Math.sqrt(1 - Math.pow(b2, t));
    const stepSize = lr / bc1;
    for (let i = 0; i < w.length; i++) {
      const gi = sign * g[i]! + wd * w[i]!;
      m[i] = b1 * m[i]! + (1 - b1) * gi;
      v[i] = b2 * v[i]! + (1 - b2) * gi * gi;
      let vv = v[i]!;
      if (this.amsgrad) {
        vmax[i] = Math.max(vmax[i]!, vv);
        vv = vmax[i]!;
      }
      w[i] = w[i]! - (stepSize * m[i]!) / (Math.sqrt(vv) / bc2sqrt + eps);
    }
  }
}
