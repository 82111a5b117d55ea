/**
 * The tensor and the shapes of what hangs off it (the recorded node, the layer record). Those
 * interfaces live here, not in autograd.ts and recording.ts, because a tensor refers to them and
 * they refer to tensors: one module keeps the engine's imports free of cycles.
 */
import { ShapeMismatchError } from './errors.js';
import { sizeOf, stridesOf } from './kernels/shape.js';

export { sizeOf, stridesOf };

export type DType = 'float32' | 'float64' | 'int32';
export type Storage = Float32Array | Float64Array | Int32Array;
export type FloatStorage = Float32Array | Float64Array;
export type Shape = readonly number[];

export class ShapeError extends ShapeMismatchError {
  override name = 'ShapeError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'ERR_SHAPE', options);
  }
}
export class DTypeError extends ShapeMismatchError {
  override name = 'DTypeError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'ERR_DTYPE', options);
  }
}

export function allocStorage(dtype: DType, size: number): Storage {
  switch (dtype) {
    case 'float32':
      return new Float32Array(size);
    case 'float64':
      return new Float64Array(size);
    case 'int32':
      return new Int32Array(size);
  }
}

export function dtypeOf(data: Storage): DType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  return 'int32';
}

export function checkShape(shape: Shape, what = 'shape'): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new ShapeError(`${what} [${shape.join(', ')}] must hold non-negative integers`);
  }
}

export function shapeStr(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

/** The context a VJP sees: the real tensors of the forward (never clones) and the op's attributes. */
export interface VjpContext<A> {
  readonly inputs: readonly Tensor[];
  readonly output: Tensor;
  readonly attrs: A;
  readonly saved: unknown;
  /** Which inputs this backward needs a gradient for (PyTorch's needs_input_grad): skip the others. */
  readonly needs: readonly boolean[];
  /**
   * The backward allocated `grad` (a sum of contributions) and holds it nowhere else: the VJP may
   * write into it once it no longer reads it (an unrecorded backward only; grad.ts decides).
   */
  readonly ownsGrad?: boolean;
}

export interface ForwardResult {
  output: Tensor;
  /** Extra state the VJP needs that is not a differentiable input (e.g. max-pool indices). */
  saved?: unknown;
}

/**
 * A primitive op. `vjp` must be written with public, recorded ops only: when the backward runs
 * with `createGraph`, the VJP is itself recorded, which is what gives exact higher derivatives.
 */
export interface OpDef<A = unknown> {
  readonly name: string;
  forward(inputs: readonly Tensor[], attrs: A): Tensor | ForwardResult;
  vjp(grad: Tensor, ctx: VjpContext<A>): readonly (Tensor | null)[];
}

/** One recorded op application (autograd.ts's `Node` class is the implementation). */
export interface TapeNode {
  readonly id: number;
  released: boolean;
  /** The layer record whose module forward was running when this node was recorded (internal nodes of a layer). */
  scope: LayerRecord | null;
  readonly op: OpDef<any>;
  readonly inputs: readonly Tensor[];
  readonly attrs: unknown;
  readonly output: Tensor;
  readonly saved: unknown;
}

/**
 * What a rule needs to know about one recorded layer: its kind (for layer-type maps), its dotted
 * name (for name maps), the tensors that went in and came out, the parameters the forward used
 * (possibly rewritten by a canonizer, still connected to the original parameters), and a pure
 * function that re-runs the layer on other inputs and parameters with recorded ops.
 */
export interface LayerRecord {
  /** Position in execution order within its recording (0-based). */
  readonly index: number;
  /** Layer kind: 'Convolution' | 'Dense' | 'Activation' | 'BatchNorm' | 'AvgPool' | 'MaxPool' | 'Sum' | ... or 'op:<name>' for functional ops. */
  readonly kind: string;
  /** The module's class name ('Conv2d', 'ReLU', ...) or the op's name. */
  readonly type: string;
  /** Dotted name of the module in the model ('' for the root, 'op:add#3' style names for functional ops). */
  readonly name: string;
  readonly inputs: readonly Tensor[];
  readonly output: Tensor;
  readonly params: Readonly<Record<string, Tensor | null>>;
  /** Re-runs the layer with other inputs and parameters (recorded like any forward). */
  readonly fn: (inputs: readonly Tensor[], params: Readonly<Record<string, Tensor | null>>) => Tensor;
  /** The module object, when the layer is a module. */
  readonly module?: unknown;
  /** Free-form facts for diagnostics (e.g. the module's hyper-parameters). */
  readonly info?: Readonly<Record<string, unknown>>;
  /** For a functional op: the dotted name of the module whose forward ran it ('blocks.0.attn'), '' at the root. */
  readonly scope?: string;
}

export type LayerSpec = Omit<LayerRecord, 'index' | 'output'>;

let nextTensorId = 1;

/**
 * A dense, contiguous, row-major tensor. Storage is never shared between a tensor and one
 * that an op wrote, except by reshape-like views that cannot be written through the public API,
 * so saved tensors stay valid for the backward pass.
 */
export class Tensor {
  readonly id = nextTensorId++;
  readonly data: Storage;
  readonly shape: Shape;
  readonly dtype: DType;
  /** Leaves: set by the user. Non-leaves: true when the tensor was recorded from an input that requires grad. */
  requiresGrad = false;
  /** Accumulated by `backward()` on leaves that require grad. */
  grad: Tensor | null = null;
  /** The recorded op that produced this tensor (null for leaves and for tensors made without recording). */
  node: TapeNode | null = null;
  /** Set when a module or a functional op recorded this tensor as a layer output inside a recording. */
  layer: LayerRecord | null = null;

  constructor(data: Storage, shape: Shape) {
    checkShape(shape);
    if (data.length !== sizeOf(shape)) {
      throw new ShapeError(`data of length ${data.length} does not fit shape ${shapeStr(shape)} (${sizeOf(shape)} elements)`);
    }
    this.data = data;
    this.shape = Object.freeze([...shape]);
    this.dtype = dtypeOf(data);
  }

  get size(): number {
    return this.data.length;
  }
  get ndim(): number {
    return this.shape.length;
  }
  get isLeaf(): boolean {
    return this.node === null;
  }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.data.length !== 1) throw new ShapeError(`item() needs a one-element tensor, got shape ${shapeStr(this.shape)}`);
    return this.data[0]!;
  }

  toArray(): number[] {
    return Array.from(this.data);
  }

  /** Marks a leaf as requiring grad (chainable). */
  requireGrad(flag = true): this {
    if (this.node !== null && !flag) throw new Error('requireGrad(false) is only valid on leaves; use detach()');
    this.requiresGrad = flag;
    return this;
  }

  /** A new leaf sharing no graph with this one (the storage is shared; tensors are never written in place). */
  detach(): Tensor {
    return new Tensor(this.data, this.shape);
  }

  toString(): string {
    const head = Array.from(this.data.slice(0, 8)).map((v) => +v.toPrecision(5));
    return `Tensor(${this.dtype}, ${shapeStr(this.shape)}, [${head.join(', ')}${this.size > 8 ? ', ...' : ''}])`;
  }
}
