import type { Node } from './autograd.js';
import type { LayerRecord } from './recording.js';
import { ShapeMismatchError } from './errors.js';

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

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function checkShape(shape: Shape, what = 'shape'): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new ShapeError(`${what} [${shape.join(', ')}] must hold non-negative integers`);
  }
}

export function shapeStr(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

export function stridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

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
  node: Node | null = null;
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
