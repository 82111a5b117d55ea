import { Tensor, ShapeError, shapeStr } from '../tensor.js';
import { apply, sameFloatDType, type OpDef } from '../autograd.js';
import { kernels as K } from '../kernels/dispatch.js';
import type { ConvGeometry, FloatArray } from '../kernels/types.js';
import { emptyLike, isAllZero, requireFloat } from './util.js';
import { isCachedValue } from '../param-cache.js';
import { markAllZero } from '../zero-marks.js';
import { add } from './elementwise.js';
import { sum } from './sum.js';
import { reshape } from './shape.js';

export type Pair = number | readonly [number, number];
export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
}

interface ConvAttrs {
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
  groups: number;
  /** [N, C, H, W] of the convolution's input. */
  xShape: number[];
  /** [O, C/groups, KH, KW]. */
  wShape: number[];
  /** [N, O, OH, OW]. */
  yShape: number[];
}

export function pair(p: Pair | undefined, dflt: number): [number, number] {
  if (p === undefined) return [dflt, dflt];
  return typeof p === 'number' ? [p, p] : [p[0], p[1]];
}

function geometry(a: ConvAttrs): ConvGeometry {
  const [N, C, H, W] = a.xShape as [number, number, number, number];
  const [O, , KH, KW] = a.wShape as [number, number, number, number];
  const [, , OH, OW] = a.yShape as [number, number, number, number];
  return {
    N, C, H, W, O, KH, KW, OH, OW,
    strideH: a.stride[0], strideW: a.stride[1],
    padH: a.padding[0], padW: a.padding[1],
    dilH: a.dilation[0], dilW: a.dilation[1],
    groups: a.groups,
  };
}

/*
 * Three bilinear ops share the trilinear form T(x, w, y) = <conv(x, w), y>: the convolution, its
 * adjoint in x (transposed convolution) and its adjoint in w (the filter gradient). Each op's VJP is
 * one of the three, so the set is closed under differentiation to any order.
 */
export const conv2dOp: OpDef<ConvAttrs> = {
  name: 'conv2d',
  forward([x, w, b], a) {
    const y = emptyLike(x!, a.yShape);
    // A zero input with finite weights gives zeros (LRP's negative-input terms after a ReLU are all
    // zero): the fresh output already is, up to the sign of zero.
    const zeroInput = isAllZero(x!) && allFinite(w!.data);
    if (!zeroInput) K.conv2dForward(x!.data as FloatArray, w!.data as FloatArray, y.data as FloatArray, geometry(a), isCachedValue(w!.data));
    // The optional bias is added into the fresh output: no second tensor and pass for `+ b`. Zeros
    // plus a zero bias stay +0 untouched (the pages of a fresh output are not even mapped).
    if (zeroInput && (!b || isAllZero(b))) return markAllZero(y);
    if (b) {
      const [N, O, OH, OW] = a.yShape as [number, number, number, number];
      K.addChannelBias(y.data, b.data, N, O, OH * OW);
    }
    return y;
  },
  vjp: (g, { inputs: [x, w, b], attrs, needs }) => [
    needs[0] ? apply(conv2dInputGradOp, [g, w!], attrs) : null,
    needs[1] ? apply(conv2dWeightGradOp, [x!, g], attrs) : null,
    b && needs[2] ? sum(g, [0, 2, 3]) : null,
  ],
};

export const conv2dInputGradOp: OpDef<ConvAttrs> = {
  name: 'conv2d_input_grad',
  forward([y, w], a) {
    const x = emptyLike(y!, a.xShape);
    if (isAllZero(y!) && allFinite(w!.data)) return markAllZero(x);
    K.conv2dBackwardInput(y!.data as FloatArray, w!.data as FloatArray, x.data as FloatArray, geometry(a), isCachedValue(w!.data));
    return x;
  },
  vjp: (h, { inputs: [y, w], attrs, needs }) => [
    needs[0] ? apply(conv2dOp, [h, w!], attrs) : null,
    needs[1] ? apply(conv2dWeightGradOp, [h, y!], attrs) : null,
  ],
};

export const conv2dWeightGradOp: OpDef<ConvAttrs> = {
  name: 'conv2d_weight_grad',
  forward([x, y], a) {
    const w = emptyLike(x!, a.wShape);
    // The double backward of a rule's zero-input term (LRP's negative part after a ReLU) asks for
    // the filter gradient of a zero input, and of a zero gradient of it: zeros, as in conv2d.
    if ((isAllZero(x!) && allFinite(y!.data)) || (isAllZero(y!) && allFinite(x!.data))) return markAllZero(w);
    K.conv2dBackwardWeight(x!.data as FloatArray, y!.data as FloatArray, w.data as FloatArray, geometry(a));
    return w;
  },
  vjp: (h, { inputs: [x, y], attrs, needs }) => [
    needs[0] ? apply(conv2dInputGradOp, [y!, h], attrs) : null,
    needs[1] ? apply(conv2dOp, [x!, h], attrs) : null,
  ],
};

const finiteCachedWeights = new WeakMap<object, boolean>();

/** No NaN or infinity (x * 0 is NaN exactly for those); remembered for cached (immutable) weights. */
function allFinite(d: Float32Array | Float64Array | Int32Array): boolean {
  const cached = isCachedValue(d);
  const known = cached ? finiteCachedWeights.get(d) : undefined;
  if (known !== undefined) return known;
  const finite = K.allFinite(d);
  if (cached) finiteCachedWeights.set(d, finite);
  return finite;
}

function outSize(inp: number, k: number, s: number, p: number, d: number): number {
  return Math.floor((inp + 2 * p - d * (k - 1) - 1) / s) + 1;
}

function validate(name: string, x: Tensor, w: Tensor, groups: number): void {
  requireFloat(x, name);
  sameFloatDType(name, [x, w]);
  if (x.ndim !== 4) throw new ShapeError(`${name}: input must be 4-D NCHW, got ${shapeStr(x.shape)}`);
  if (w.ndim !== 4) throw new ShapeError(`${name}: weight must be 4-D, got ${shapeStr(w.shape)}`);
  if (!Number.isInteger(groups) || groups < 1) throw new ShapeError(`${name}: groups must be a positive integer, got ${groups}`);
}

/** PyTorch's conv2d (cross-correlation), NCHW input, OIHW weight. */
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor | null, opts: Conv2dOptions = {}): Tensor {
  const groups = opts.groups ?? 1;
  validate('conv2d', x, weight, groups);
  const stride = pair(opts.stride, 1);
  const padding = pair(opts.padding, 0);
  const dilation = pair(opts.dilation, 1);
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const [O, Cg, KH, KW] = weight.shape as [number, number, number, number];
  if (C !== Cg * groups || O % groups !== 0) {
    throw new ShapeError(`conv2d: input ${shapeStr(x.shape)} with weight ${shapeStr(weight.shape)} and groups ${groups}: expected ${Cg * groups} input channels and out channels divisible by groups`);
  }
  const OH = outSize(H, KH, stride[0], padding[0], dilation[0]);
  const OW = outSize(W, KW, stride[1], padding[1], dilation[1]);
  if (OH < 1 || OW < 1) throw new ShapeError(`conv2d: input ${shapeStr(x.shape)} is smaller than the (dilated) kernel ${KH}x${KW} with padding ${padding.join('x')}`);
  const attrs: ConvAttrs = { stride, padding, dilation, groups, xShape: [...x.shape], wShape: [...weight.shape], yShape: [N, O, OH, OW] };
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== O)) throw new ShapeError(`conv2d: bias of shape ${shapeStr(bias.shape)} for ${O} output channels`);
  if (bias) sameFloatDType('conv2d', [x, bias]);
  return apply(conv2dOp, bias ? [x, weight, bias] : [x, weight], attrs);
}

export interface ConvTranspose2dOptions extends Conv2dOptions {
  outputPadding?: Pair;
}

/** PyTorch's conv_transpose2d; weight is [C_in, C_out/groups, KH, KW]. */
export function convTranspose2d(x: Tensor, weight: Tensor, bias?: Tensor | null, opts: ConvTranspose2dOptions = {}): Tensor {
  const groups = opts.groups ?? 1;
  validate('conv_transpose2d', x, weight, groups);
  const stride = pair(opts.stride, 1);
  const padding = pair(opts.padding, 0);
  const dilation = pair(opts.dilation, 1);
  const outPad = pair(opts.outputPadding, 0);
  const [N, Cin, H, W] = x.shape as [number, number, number, number];
  const [Cw, Og, KH, KW] = weight.shape as [number, number, number, number];
  if (Cw !== Cin || Cin % groups !== 0) throw new ShapeError(`conv_transpose2d: input ${shapeStr(x.shape)} does not match weight ${shapeStr(weight.shape)}`);
  const OH = (H - 1) * stride[0] - 2 * padding[0] + dilation[0] * (KH - 1) + outPad[0] + 1;
  const OW = (W - 1) * stride[1] - 2 * padding[1] + dilation[1] * (KW - 1) + outPad[1] + 1;
  // The transposed convolution is the input-adjoint of the convolution from [N, Og*groups, OH, OW] to x.
  const attrs: ConvAttrs = { stride, padding, dilation, groups, xShape: [N, Og * groups, OH, OW], wShape: [...weight.shape], yShape: [...x.shape] };
  const y = apply(conv2dInputGradOp, [x, weight], attrs);
  return bias ? add(y, reshape(bias, [1, Og * groups, 1, 1])) : y;
}
