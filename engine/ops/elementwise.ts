import { Tensor, allocStorage, ShapeError, shapeStr } from '../tensor.js';
import { apply, sameFloatDType, type OpDef } from '../autograd.js';
import { kernels as K } from '../kernels/dispatch.js';
import { BinaryCode, type Comparison } from '../kernels/types.js';
import { asTensor, broadcastShapes, emptyLike, isAllZero, requireFloat, type TensorLike } from './util.js';
import { markAllZero } from '../zero-marks.js';
import { sumTo } from './sum.js';
import { sumIfShared } from './accumulate.js';

// ---- unary ----------------------------------------------------------------------------------

type UnaryAttrs = { p?: number; lo?: number; hi?: number };

type Loop = (src: Tensor['data'], dst: Tensor['data'], a: UnaryAttrs) => void;

/** `loop`, when given, is the op's own kernel (hot ops); otherwise `f` is mapped over the elements. */
function unaryOp(name: string, f: (x: number, a: UnaryAttrs) => number, vjp: OpDef<UnaryAttrs>['vjp'], loop?: Loop): OpDef<UnaryAttrs> {
  return {
    name,
    forward([x], attrs) {
      requireFloat(x!, name);
      const out = emptyLike(x!);
      if (loop) loop(x!.data, out.data, attrs);
      else K.map(x!.data, out.data, f, attrs);
      return out;
    },
    vjp,
  };
}

const negLoop: Loop = (s, d) => K.neg(s, d);
const reluLoop: Loop = (s, d) => K.relu(s, d);
const clampLoop: Loop = (s, d, a) => K.clamp(s, d, a.lo ?? -Infinity, a.hi ?? Infinity);
const expLoop: Loop = (s, d) => K.exp(s, d);

export const negOp = unaryOp('neg', (x) => -x, (g) => [neg(g)], negLoop);
export const absOp = unaryOp('abs', Math.abs, (g, { inputs: [x] }) => [mul(g, sign(x!))]);
export const expOp = unaryOp('exp', Math.exp, (g, { output }) => [mul(g, output)], expLoop);
export const logOp = unaryOp('log', Math.log, (g, { inputs: [x] }) => [div(g, x!)]);
export const sqrtOp = unaryOp('sqrt', Math.sqrt, (g, { output }) => [div(g, mul(output, 2))]);
export const tanhOp = unaryOp('tanh', Math.tanh, (g, { output }) => [mul(g, sub(1, mul(output, output)))]);
export const sigmoidOp = unaryOp(
  'sigmoid',
  (x) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x))),
  (g, { output }) => [mul(g, mul(output, sub(1, output)))],
);
// Non-smooth ops differentiate through a constant mask, so their second derivative is zero, never an error.
export const reluOp = unaryOp('relu', (x) => (x <= 0 ? 0 : x), (g, { inputs: [x], ownsGrad }) => [passWithin(g, x!, 0, Infinity, true, ownsGrad)], reluLoop);
export const leakyReluOp = unaryOp(
  'leaky_relu',
  (x, a) => (x > 0 ? x : x * a.p!),
  (g, { inputs: [x], attrs }) => [mul(g, add(mul(gt(x!, 0), 1 - attrs.p!), attrs.p!))],
);
export const powScalarOp = unaryOp('pow_scalar', (x, a) => Math.pow(x, a.p!), (g, { inputs: [x], attrs }) => [
  attrs.p === 0 ? mul(g, 0) : mul(g, mul(powScalar(x!, attrs.p! - 1), attrs.p!)),
]);
const clampCopying = unaryOp(
  'clamp',
  (x, a) => Math.min(Math.max(x, a.lo ?? -Infinity), a.hi ?? Infinity),
  // PyTorch's convention: the gradient passes where lo <= x <= hi (both ends inclusive).
  (g, { inputs: [x], attrs, ownsGrad }) => [passWithin(g, x!, attrs.lo ?? -Infinity, attrs.hi ?? Infinity, false, ownsGrad)],
  clampLoop,
);
/**
 * When no element is out of bounds the result shares the input's storage (tensors are immutable):
 * LRP clamps every ReLU output at zero, where the copy would change nothing.
 */
export const clampOp: OpDef<UnaryAttrs> = {
  ...clampCopying,
  forward(inputs, attrs) {
    const x = inputs[0]!;
    if (x.dtype !== 'int32' && x.size > 0) {
      const lo = attrs.lo ?? -Infinity;
      const hi = attrs.hi ?? Infinity;
      const s = x.data;
      if (K.allWithin(s, lo, hi)) return new Tensor(s, x.shape);
      // Everything clamped to a +0 bound (the negative part of a ReLU output): a fresh array already
      // holds that, and its pages need not be written.
      if ((hi === 0 && !Object.is(hi, -0) && lo <= 0 && K.allAtLeast(s, 0)) || (lo === 0 && !Object.is(lo, -0) && hi >= 0 && K.allAtMost(s, 0))) {
        return markAllZero(emptyLike(x));
      }
    }
    return clampCopying.forward(inputs, attrs);
  },
};

export const neg = (x: Tensor): Tensor => apply(negOp, [x], {});
export const abs = (x: Tensor): Tensor => apply(absOp, [x], {});
export const exp = (x: Tensor): Tensor => apply(expOp, [x], {});
export const log = (x: Tensor): Tensor => apply(logOp, [x], {});
export const sqrt = (x: Tensor): Tensor => apply(sqrtOp, [x], {});
export const tanh = (x: Tensor): Tensor => apply(tanhOp, [x], {});
export const sigmoid = (x: Tensor): Tensor => apply(sigmoidOp, [x], {});
export const relu = (x: Tensor): Tensor => apply(reluOp, [x], {});
export const leakyRelu = (x: Tensor, negativeSlope = 0.01): Tensor => apply(leakyReluOp, [x], { p: negativeSlope });
export const powScalar = (x: Tensor, p: number): Tensor => apply(powScalarOp, [x], { p });

/** Clamps with scalar and/or tensor bounds (tensor bounds broadcast). */
export function clamp(x: Tensor, min?: TensorLike | null, max?: TensorLike | null): Tensor {
  let y = x;
  const scalarLo = typeof min === 'number' ? min : undefined;
  const scalarHi = typeof max === 'number' ? max : undefined;
  if (scalarLo !== undefined || scalarHi !== undefined) y = apply(clampOp, [y], { lo: scalarLo, hi: scalarHi });
  if (min instanceof Tensor) y = maximum(y, min);
  if (max instanceof Tensor) y = minimum(y, max);
  return y;
}

type PassAttrs = { lo: number; hi: number; openLo: boolean };

/**
 * g where lo <= x <= hi (lo < x when `openLo`), else g * 0: the VJP of clamp and relu in one pass,
 * with the bits of g * mask but without the weight-sized mask arrays (a one-sided clamp built an
 * all-ones one). x only selects, a constant as the mask was: the map is linear in g, so its VJP is
 * the same pass, and a double backward stays exact.
 */
export const passWithinOp: OpDef<PassAttrs> = {
  name: 'pass_within',
  forward([g, x], { lo, hi, openLo }) {
    requireFloat(g!, 'pass_within');
    sameFloatDType('pass_within', [g!, x!]);
    if (g!.ndim !== x!.ndim || g!.shape.some((d, i) => d !== x!.shape[i])) {
      throw new ShapeError(`pass_within: gradient ${shapeStr(g!.shape)} and input ${shapeStr(x!.shape)} differ`);
    }
    // g * 0 is g itself for g = +/-0: an all-zero gradient (a zero-input rule term's) passes unchanged.
    if (isAllZero(g!)) return new Tensor(g!.data, g!.shape);
    const out = emptyLike(g!);
    K.passWithin(g!.data, x!.data, out.data, lo, hi, openLo);
    return out;
  },
  vjp: (gg, { inputs: [, x], attrs, needs }) => [needs[0] ? apply(passWithinOp, [gg, x!], attrs) : null, null],
};

/**
 * g where x lies within [lo, hi] ((lo, hi] when `openLo`), else g * 0; x is not differentiated.
 * `inPlace` (a VJP whose context `ownsGrad`): the result is written into g's array, unrecorded.
 */
export function passWithin(g: Tensor, x: Tensor, lo: number, hi: number, openLo = false, inPlace = false): Tensor {
  if (inPlace && g.dtype === x.dtype && !isAllZero(g)) {
    K.passWithin(g.data, x.data, g.data, lo, hi, openLo);
    return g;
  }
  return apply(passWithinOp, [g, x.requiresGrad ? x.detach() : x], { lo, hi, openLo });
}

/**
 * zennit's stabiliser in one pass: x + eps for x >= 0 (zero counts as positive), x - eps below.
 * The shift is piecewise constant, so the VJP is the identity.
 */
export const stabilizeOp: OpDef<{ eps: number }> = {
  name: 'stabilize',
  forward([x], { eps }) {
    requireFloat(x!, 'stabilize');
    const out = emptyLike(x!);
    K.stabilize(x!.data, out.data, eps);
    return out;
  },
  vjp: (g) => [g],
};
export const stabilizeShift = (x: Tensor, eps: number): Tensor => apply(stabilizeOp, [x], { eps });

/**
 * r / stabilize(y, eps) in one pass (same shapes): every LRP rule divides the incoming relevance by
 * its stabilised output, and the stabilised output is needed nowhere else. Equal to div(r,
 * stabilizeShift(y, eps)) in float64; in float32 it rounds once instead of twice.
 */
export const stabilizedDivOp: OpDef<{ eps: number }> = {
  name: 'stabilized_div',
  forward([r, y], { eps }) {
    requireFloat(r!, 'stabilized_div');
    sameFloatDType('stabilized_div', [r!, y!]);
    if (r!.size !== y!.size || r!.shape.some((d, i) => d !== y!.shape[i]) || r!.ndim !== y!.ndim) {
      throw new ShapeError(`stabilized_div: shapes ${shapeStr(r!.shape)} and ${shapeStr(y!.shape)} differ`);
    }
    const out = emptyLike(r!);
    K.stabilizedDiv(r!.data, y!.data, out.data, eps);
    return out;
  },
  // The shift is piecewise constant: d/dr = 1 / s, d/dy = -r / s^2 = -out / s.
  vjp: (g, { inputs: [r, y], output, attrs, needs }) => {
    const s = stabilizeShift(y!, attrs.eps);
    return [needs[0] ? div(g, s) : null, needs[1] ? neg(div(mul(g, output), s)) : null];
  },
};

/** r / stabilize(y, eps) (zennit's stabiliser with a plain epsilon), same shapes. */
export const stabilizedDiv = (r: Tensor, y: Tensor, eps: number): Tensor => apply(stabilizedDivOp, [r, y], { eps });

/** +1 for x > 0, -1 for x < 0, 0 at 0 (as torch.sign); a constant, so not recorded. */
export function sign(x: Tensor): Tensor {
  const out = emptyLike(x);
  K.sign(x.data, out.data);
  return out;
}

// ---- binary with broadcasting -------------------------------------------------------------

function binaryForward(name: string, f: (a: number, b: number) => number, code?: BinaryCode) {
  return (inputs: readonly Tensor[]): Tensor => {
    const [a, b] = inputs as [Tensor, Tensor];
    sameFloatDType(name, [a, b]);
    const shape = broadcastShapes(a.shape, b.shape, name);
    const out = emptyLike(a, shape);
    if (code !== undefined) K.binary(code, a.data, a.shape, b.data, b.shape, out.data, shape);
    else K.binaryMap(a.data, a.shape, b.data, b.shape, out.data, shape, f);
    return out;
  };
}

const addCopying = binaryForward('add', (a, b) => a + b, BinaryCode.Add);

export const addOp: OpDef = {
  name: 'add',
  // x + 0 over same-shaped float tensors shares x's storage when that is bitwise the sum: LRP adds
  // the all-zero output of a negative-input term to the positive one in every layer after a ReLU.
  forward(inputs) {
    const [a, b] = inputs as [Tensor, Tensor];
    if (a.dtype === b.dtype && a.dtype !== 'int32' && a.size > 0 && a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i])) {
      const shared = sumIfShared(a, b);
      if (shared) return new Tensor(shared.data, shared.shape);
    }
    return addCopying(inputs);
  },
  vjp: (g, { inputs: [a, b], needs }) => [needs[0] ? sumTo(g, a!.shape) : null, needs[1] ? sumTo(g, b!.shape) : null],
};
export const subOp: OpDef = {
  name: 'sub',
  forward: binaryForward('sub', (a, b) => a - b, BinaryCode.Sub),
  vjp: (g, { inputs: [a, b], needs }) => [needs[0] ? sumTo(g, a!.shape) : null, needs[1] ? sumTo(neg(g), b!.shape) : null],
};
export const mulOp: OpDef = {
  name: 'mul',
  forward: binaryForward('mul', (a, b) => a * b, BinaryCode.Mul),
  vjp: (g, { inputs: [a, b], needs, ownsGrad }) => {
    const ga = needs[0] ? sumTo(mul(g, b!), a!.shape) : null;
    // g is read for the last time here: a backward that owns it takes the product in its array
    // (the merged weight W * s of a canonizer: no weight-sized temporary for d/ds).
    const gb = needs[1] ? sumTo(ownsGrad ? mulInto(g, a!) : mul(g, a!), b!.shape) : null;
    return [ga, gb];
  },
};

/** g *= a in place (a broadcasting to g's shape, same dtype), unrecorded: only on a gradient the VJP owns. */
function mulInto(g: Tensor, a: Tensor): Tensor {
  if (a.dtype !== g.dtype || broadcastShapes(g.shape, a.shape, 'mul').some((d, i) => d !== g.shape[i])) return mul(g, a);
  K.binary(BinaryCode.Mul, g.data, g.shape, a.data, a.shape, g.data, g.shape);
  return g;
}
export const divOp: OpDef = {
  name: 'div',
  forward: binaryForward('div', (a, b) => a / b, BinaryCode.Div),
  vjp: (g, { inputs: [a, b], output, needs }) => [
    needs[0] ? sumTo(div(g, b!), a!.shape) : null,
    needs[1] ? sumTo(neg(div(mul(g, output), b!)), b!.shape) : null,
  ],
};
export const powOp: OpDef = {
  name: 'pow',
  forward: binaryForward('pow', Math.pow),
  vjp: (g, { inputs: [a, b], output, needs }) => [
    needs[0] ? sumTo(mul(g, mul(b!, pow(a!, sub(b!, 1)))), a!.shape) : null,
    needs[1] ? sumTo(mul(g, mul(output, log(a!))), b!.shape) : null,
  ],
};
// Ties split the gradient evenly, as PyTorch does for maximum/minimum.
function tieSplitVjp(first: (a: Tensor, b: Tensor) => Tensor): OpDef['vjp'] {
  return (g, { inputs: [a, b] }) => {
    const wa = add(first(a!, b!), mul(eq(a!, b!), 0.5));
    return [sumTo(mul(g, wa), a!.shape), sumTo(mul(g, sub(1, wa)), b!.shape)];
  };
}
export const maximumOp: OpDef = { name: 'maximum', forward: binaryForward('maximum', Math.max), vjp: tieSplitVjp((a, b) => gt(a, b)) };
export const minimumOp: OpDef = { name: 'minimum', forward: binaryForward('minimum', Math.min), vjp: tieSplitVjp((a, b) => lt(a, b)) };

function binary(op: OpDef) {
  return (a: TensorLike, b: TensorLike): Tensor => {
    if (!(a instanceof Tensor) && !(b instanceof Tensor)) throw new TypeError(`${op.name}: at least one operand must be a tensor`);
    const ta = a instanceof Tensor ? a : asTensor(a, b as Tensor);
    const tb = b instanceof Tensor ? b : asTensor(b, ta);
    return apply(op, [ta, tb], {});
  };
}
export const add = binary(addOp);
export const sub = binary(subOp);
export const mul = binary(mulOp);
export const div = binary(divOp);
export const pow = binary(powOp);
export const maximum = binary(maximumOp);
export const minimum = binary(minimumOp);

// ---- comparisons: constant masks (1/0 in the dtype of the first float operand) ----------------

/** A mask against a number (x > 0, the common case) is one kernel call without a closure per element. */
function compare(name: Comparison, f: (a: number, b: number) => boolean) {
  const fwd = binaryForward(name, (a, b) => (f(a, b) ? 1 : 0));
  return (a: TensorLike, b: TensorLike): Tensor => {
    if (a instanceof Tensor && typeof b === 'number' && a.dtype !== 'int32') {
      const out = emptyLike(a);
      K.compareScalar(name, a.data, b, out.data);
      return out;
    }
    const ta = a instanceof Tensor ? a : asTensor(a, b as Tensor);
    const tb = b instanceof Tensor ? b : asTensor(b, ta);
    return fwd([ta, tb]);
  };
}
export const gt = compare('gt', (a, b) => a > b);
export const ge = compare('ge', (a, b) => a >= b);
export const lt = compare('lt', (a, b) => a < b);
export const le = compare('le', (a, b) => a <= b);
export const eq = compare('eq', (a, b) => a === b);
export const ne = compare('ne', (a, b) => a !== b);

export const whereOp: OpDef = {
  name: 'where',
  forward(inputs) {
    const [c, a, b] = inputs as [Tensor, Tensor, Tensor];
    sameFloatDType('where', [a, b]);
    const shape = broadcastShapes(broadcastShapes(c.shape, a.shape, 'where'), b.shape, 'where');
    const out = emptyLike(a, shape);
    K.where(c.data, c.shape, a.data, a.shape, b.data, b.shape, out.data, shape);
    return out;
  },
  vjp: (g, { inputs: [c, a, b] }) => {
    const zero = asTensor(0, g);
    return [null, sumTo(where(c!, g, zero), a!.shape), sumTo(where(c!, zero, g), b!.shape)];
  },
};

/** Elementwise choice: `cond` nonzero picks `a`, else `b`. The condition is a constant. */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  const like = a instanceof Tensor ? a : b instanceof Tensor ? b : null;
  const ta = like ? asTensor(a, like) : asTensor(a, cond);
  const tb = asTensor(b, ta);
  const c = cond.requiresGrad ? cond.detach() : cond;
  return apply(whereOp, [c, ta, tb], {});
}

/** A float tensor converted to another float dtype (recorded: the gradient converts back). */
export const castOp: OpDef<{ dtype: 'float32' | 'float64' }> = {
  name: 'cast',
  forward([x], { dtype }) {
    const out = new Tensor(allocStorage(dtype, x!.size), x!.shape);
    out.data.set(x!.data);
    return out;
  },
  vjp: (g, { inputs: [x] }) => [apply(castOp, [g], { dtype: x!.dtype as 'float32' | 'float64' })],
};
export function cast(x: Tensor, dtype: 'float32' | 'float64'): Tensor {
  return x.dtype === dtype ? x : apply(castOp, [x], { dtype });
}
