import { Tensor, allocStorage, checkShape, sizeOf, ShapeError, type DType, type Shape } from '../tensor.js';
import { defaultRng, type Rng } from '../random.js';
import { kernels as K } from '../kernels/dispatch.js';

export interface CreateOptions {
  dtype?: DType;
  requiresGrad?: boolean;
}

function make(shape: Shape, opts: CreateOptions, fill: (data: Tensor['data']) => void): Tensor {
  checkShape(shape);
  const data = allocStorage(opts.dtype ?? 'float32', sizeOf(shape));
  fill(data);
  const t = new Tensor(data, shape);
  if (opts.requiresGrad) t.requiresGrad = true;
  return t;
}

export const zeros = (shape: Shape, opts: CreateOptions = {}): Tensor => make(shape, opts, () => {});
export const ones = (shape: Shape, opts: CreateOptions = {}): Tensor => make(shape, opts, (d) => d.fill(1));
export const full = (shape: Shape, value: number, opts: CreateOptions = {}): Tensor => make(shape, opts, (d) => d.fill(value));
export const zerosLike = (t: Tensor): Tensor => zeros(t.shape, { dtype: t.dtype });
export const onesLike = (t: Tensor): Tensor => ones(t.shape, { dtype: t.dtype });

export function arange(start: number, stop?: number, step = 1, opts: CreateOptions = {}): Tensor {
  const [a, b] = stop === undefined ? [0, start] : [start, stop];
  if (step === 0) throw new ShapeError('arange: step must not be 0');
  const n = Math.max(0, Math.ceil((b - a) / step));
  return make([n], opts, (d) => K.fill(d, (i) => a + i * step));
}

type Nested = number | readonly Nested[];

function inferShape(x: Nested): number[] {
  const shape: number[] = [];
  let cur: Nested = x;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    cur = (cur as readonly Nested[])[0] ?? 0;
  }
  return shape;
}

/**
 * A tensor from a typed array (used as storage, not copied), a flat array with a shape, or nested
 * arrays (shape inferred, ragged input rejected).
 */
export function tensor(values: Nested | ArrayLike<number>, shapeOrOpts?: Shape | CreateOptions, maybeOpts: CreateOptions = {}): Tensor {
  const shapeGiven = Array.isArray(shapeOrOpts) ? (shapeOrOpts as Shape) : undefined;
  const opts = (shapeGiven ? maybeOpts : (shapeOrOpts as CreateOptions | undefined)) ?? {};
  if (values instanceof Float32Array || values instanceof Float64Array || values instanceof Int32Array) {
    const t = new Tensor(values, shapeGiven ?? [values.length]);
    if (opts.dtype && opts.dtype !== t.dtype) throw new ShapeError(`tensor: typed array is ${t.dtype} but dtype ${opts.dtype} was asked`);
    if (opts.requiresGrad) t.requiresGrad = true;
    return t;
  }
  const shape = shapeGiven ?? (typeof values === 'number' ? [] : inferShape(values as Nested));
  let flat: number[] = [];
  const walk = (v: Nested, depth: number): void => {
    if (typeof v === 'number') {
      if (depth !== shape.length && !shapeGiven) throw new ShapeError('tensor: ragged nested array');
      flat.push(v);
      return;
    }
    if (!shapeGiven && v.length !== shape[depth]) throw new ShapeError(`tensor: ragged nested array at depth ${depth}`);
    for (const e of v) walk(e, depth + 1);
  };
  if (typeof values === 'number' || Array.isArray(values)) walk(values as Nested, 0);
  else flat = Array.from(values as ArrayLike<number>);
  if (flat.length !== sizeOf(shape)) throw new ShapeError(`tensor: ${flat.length} values do not fit shape [${shape.join(', ')}]`);
  return make(shape, opts, (d) => d.set(flat));
}

export function randn(shape: Shape, opts: CreateOptions & { rng?: Rng } = {}): Tensor {
  const rng = opts.rng ?? defaultRng();
  return make(shape, opts, (d) => K.fill(d, () => rng.normal()));
}

/** Uniform in [low, high). */
export function rand(shape: Shape, opts: CreateOptions & { rng?: Rng; low?: number; high?: number } = {}): Tensor {
  const rng = opts.rng ?? defaultRng();
  const lo = opts.low ?? 0;
  const hi = opts.high ?? 1;
  return make(shape, opts, (d) => K.fill(d, () => lo + (hi - lo) * rng.uniform()));
}
