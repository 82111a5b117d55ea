import { Tensor, ShapeError, shapeStr } from '../tensor.js';
import { apply, type OpDef } from '../autograd.js';
import { kernels as K } from '../kernels/dispatch.js';
import type { AvgPoolWindows, MaxPoolGeometry } from '../kernels/types.js';
import { emptyLike, requireFloat } from './util.js';
import { pair, type Pair } from './conv.js';

// ---- max pooling: the VJP scatters to the winners, the scatter's VJP gathers from them ---------

interface IndexAttrs {
  /** For every element of the small tensor, the flat index into the big one. */
  indices: Int32Array;
  bigShape: number[];
  smallShape: number[];
}

export const scatterAddOp: OpDef<IndexAttrs> = {
  name: 'scatter_add',
  forward([g], a) {
    const out = emptyLike(g!, a.bigShape);
    K.scatterAdd(g!.data, out.data, a.indices);
    return out;
  },
  vjp: (h, { attrs }) => [apply(gatherOp, [h], attrs)],
};

export const gatherOp: OpDef<IndexAttrs> = {
  name: 'gather',
  forward([x], a) {
    const out = emptyLike(x!, a.smallShape);
    K.gather(x!.data, out.data, a.indices);
    return out;
  },
  vjp: (h, { attrs }) => [apply(scatterAddOp, [h], attrs)],
};

export interface Pool2dOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  ceilMode?: boolean;
}

function poolOut(inp: number, k: number, s: number, p: number, d: number, ceil: boolean): number {
  const span = inp + 2 * p - d * (k - 1) - 1;
  let o = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  // PyTorch: with ceil_mode the last window must start inside the input or left padding.
  if (ceil && (o - 1) * s >= inp + p) o--;
  return o;
}

function check4d(name: string, x: Tensor): [number, number, number, number] {
  requireFloat(x, name);
  if (x.ndim !== 4) throw new ShapeError(`${name}: input must be 4-D NCHW, got ${shapeStr(x.shape)}`);
  return x.shape as unknown as [number, number, number, number];
}

/** Max pooling (padding counts as -inf). Returns the output and the flat winner index of every output. */
export function maxPool2dWithIndices(x: Tensor, kernelSize: Pair, opts: Pool2dOptions = {}): { output: Tensor; indices: Int32Array } {
  const [N, C, H, W] = check4d('max_pool2d', x);
  const [KH, KW] = pair(kernelSize, 1);
  const [SH, SW] = pair(opts.stride ?? kernelSize, 1);
  const [PH, PW] = pair(opts.padding, 0);
  const [DH, DW] = pair(opts.dilation, 1);
  if (PH > KH / 2 || PW > KW / 2) throw new ShapeError(`max_pool2d: padding ${PH}x${PW} must be at most half the kernel ${KH}x${KW}`);
  const OH = poolOut(H, KH, SH, PH, DH, opts.ceilMode ?? false);
  const OW = poolOut(W, KW, SW, PW, DW, opts.ceilMode ?? false);
  if (OH < 1 || OW < 1) throw new ShapeError(`max_pool2d: input ${shapeStr(x.shape)} too small for kernel ${KH}x${KW}`);
  const indices = new Int32Array(N * C * OH * OW);
  const g: MaxPoolGeometry = {
    planes: N * C, H, W, OH, OW, SH, SW, PH, PW, DH, DW,
    rowsOf: validTaps(OH, H, KH, SH, PH, DH),
    colsOf: validTaps(OW, W, KW, SW, PW, DW),
  };
  K.maxPoolIndices(x.data, indices, g);
  const attrs: IndexAttrs = { indices, bigShape: [...x.shape], smallShape: [N, C, OH, OW] };
  return { output: apply(gatherOp, [x], attrs), indices };
}

/** Per output row (or column), the kernel taps [k0, k1) that fall inside the input, interleaved. */
function validTaps(out: number, size: number, K: number, S: number, P: number, D: number): Int32Array {
  const r = new Int32Array(2 * out);
  for (let o = 0; o < out; o++) {
    let k0 = 0;
    while (k0 < K && o * S - P + k0 * D < 0) k0++;
    let k1 = K;
    while (k1 > k0 && o * S - P + (k1 - 1) * D >= size) k1--;
    r[2 * o] = k0;
    r[2 * o + 1] = k1;
  }
  return r;
}

export function maxPool2d(x: Tensor, kernelSize: Pair, opts: Pool2dOptions = {}): Tensor {
  return maxPool2dWithIndices(x, kernelSize, opts).output;
}

// ---- average pooling: one linear op over explicit windows, and its adjoint ---------------------

type WindowAttrs = AvgPoolWindows;

export const windowAvgOp: OpDef<WindowAttrs> = {
  name: 'avg_pool2d',
  forward([x], a) {
    const out = emptyLike(x!, a.outShape);
    K.avgPool(x!.data, out.data, a);
    return out;
  },
  vjp: (g, { attrs }) => [apply(windowAvgTransposeOp, [g], attrs)],
};

export const windowAvgTransposeOp: OpDef<WindowAttrs> = {
  name: 'avg_pool2d_transpose',
  forward([x], a) {
    const out = emptyLike(x!, a.inShape);
    K.avgPoolTranspose(x!.data, out.data, a);
    return out;
  },
  vjp: (h, { attrs }) => [apply(windowAvgOp, [h], attrs)],
};

export interface AvgPool2dOptions {
  stride?: Pair;
  padding?: Pair;
  ceilMode?: boolean;
  /** PyTorch's default true: padded cells count in the divisor. */
  countIncludePad?: boolean;
  divisorOverride?: number;
}

export function avgPool2d(x: Tensor, kernelSize: Pair, opts: AvgPool2dOptions = {}): Tensor {
  const [N, C, H, W] = check4d('avg_pool2d', x);
  const [KH, KW] = pair(kernelSize, 1);
  const [SH, SW] = pair(opts.stride ?? kernelSize, 1);
  const [PH, PW] = pair(opts.padding, 0);
  if (PH > KH / 2 || PW > KW / 2) throw new ShapeError(`avg_pool2d: padding ${PH}x${PW} must be at most half the kernel ${KH}x${KW}`);
  const ceil = opts.ceilMode ?? false;
  const OH = poolOut(H, KH, SH, PH, 1, ceil);
  const OW = poolOut(W, KW, SW, PW, 1, ceil);
  if (OH < 1 || OW < 1) throw new ShapeError(`avg_pool2d: input ${shapeStr(x.shape)} too small for kernel ${KH}x${KW}`);
  const include = opts.countIncludePad ?? true;
  const h0 = new Int32Array(OH), h1 = new Int32Array(OH), w0 = new Int32Array(OW), w1 = new Int32Array(OW);
  const padH0 = new Int32Array(OH), padH1 = new Int32Array(OH), padW0 = new Int32Array(OW), padW1 = new Int32Array(OW);
  for (let o = 0; o < OH; o++) {
    const s = o * SH - PH;
    padH0[o] = s;
    padH1[o] = Math.min(s + KH, H + PH);
    h0[o] = Math.max(s, 0);
    h1[o] = Math.min(s + KH, H);
  }
  for (let o = 0; o < OW; o++) {
    const s = o * SW - PW;
    padW0[o] = s;
    padW1[o] = Math.min(s + KW, W + PW);
    w0[o] = Math.max(s, 0);
    w1[o] = Math.min(s + KW, W);
  }
  const divisor = new Float64Array(OH * OW);
  for (let oh = 0; oh < OH; oh++) {
    for (let ow = 0; ow < OW; ow++) {
      divisor[oh * OW + ow] =
        opts.divisorOverride ??
        (include ? (padH1[oh]! - padH0[oh]!) * (padW1[ow]! - padW0[ow]!) : (h1[oh]! - h0[oh]!) * (w1[ow]! - w0[ow]!));
    }
  }
  return apply(windowAvgOp, [x], { inShape: [...x.shape], outShape: [N, C, OH, OW], h0, h1, w0, w1, divisor });
}

/** PyTorch's adaptive average pooling: window i spans [floor(i*H/OH), ceil((i+1)*H/OH)). */
export function adaptiveAvgPool2d(x: Tensor, outputSize: Pair): Tensor {
  const [N, C, H, W] = check4d('adaptive_avg_pool2d', x);
  const [OH, OW] = pair(outputSize, 1);
  if (OH < 1 || OW < 1) throw new ShapeError(`adaptive_avg_pool2d: output size ${OH}x${OW} must be positive`);
  const h0 = new Int32Array(OH), h1 = new Int32Array(OH), w0 = new Int32Array(OW), w1 = new Int32Array(OW);
  for (let o = 0; o < OH; o++) {
    h0[o] = Math.floor((o * H) / OH);
    h1[o] = Math.ceil(((o + 1) * H) / OH);
  }
  for (let o = 0; o < OW; o++) {
    w0[o] = Math.floor((o * W) / OW);
    w1[o] = Math.ceil(((o + 1) * W) / OW);
  }
  const divisor = new Float64Array(OH * OW);
  for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) divisor[oh * OW + ow] = (h1[oh]! - h0[oh]!) * (w1[ow]! - w0[ow]!);
  return apply(windowAvgOp, [x], { inShape: [...x.shape], outShape: [N, C, OH, OW], h0, h1, w0, w1, divisor });
}
