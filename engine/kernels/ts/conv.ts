/**
 * The TypeScript convolutions: im2col (a band of output rows at a time, conv-bands.ts) and GEMM.
 * The GEMM is a parameter, the dispatcher's own: a convolution that runs here still gets the
 * fastest GEMM for each band (threads, when the convolution as a whole was not split).
 */
import type { ConvGeometry, FloatArray, Kernels } from '../types.js';
import { forEachBand, lowering } from '../conv-bands.js';

/** im2col's scratch, kept between calls, one per dtype (at most COL_CAP elements, conv-bands.ts). */
let colF32 = new Float32Array(0);
let colF64 = new Float64Array(0);

function colScratch(like: FloatArray, n: number): FloatArray {
  if (like instanceof Float32Array) {
    if (colF32.length < n) colF32 = new Float32Array(n);
    return colF32;
  }
  if (colF64.length < n) colF64 = new Float64Array(n);
  return colF64;
}

/** First output index whose input index o*s - p + k*d lies in [0, size), and one past the last. */
function validRange(size: number, out: number, s: number, p: number, kd: number): [number, number] {
  const lo = Math.min(out, Math.max(0, Math.ceil((p - kd) / s)));
  const hi = Math.min(out, Math.ceil((size + p - kd) / s));
  return [lo, Math.max(lo, hi)];
}

/**
 * col[(c*KH+kh)*KW+kw, (oh-oh0)*OW+ow] = x[xOff + c*H*W + ih*W + iw] for output rows
 * oh0 <= oh < oh1, 0 outside the image. The in-bounds column range is computed once per
 * kernel tap so the copy loop carries no bounds test.
 */
function im2col(x: FloatArray, xOff: number, g: ConvGeometry, Cg: number, oh0: number, oh1: number, col: FloatArray): void {
  const { H, W, KH, KW, OW, strideH, strideW, padH, padW, dilH, dilW } = g;
  const P = (oh1 - oh0) * OW;
  for (let c = 0; c < Cg; c++) {
    const xc = xOff + c * H * W;
    for (let kh = 0; kh < KH; kh++) {
      for (let kw = 0; kw < KW; kw++) {
        const row = ((c * KH + kh) * KW + kw) * P;
        const [lo, hi] = validRange(W, OW, strideW, padW, kw * dilW);
        const iw0 = kw * dilW - padW;
        for (let oh = oh0; oh < oh1; oh++) {
          const ih = oh * strideH - padH + kh * dilH;
          const r = row + (oh - oh0) * OW;
          if (ih < 0 || ih >= H) {
            col.fill(0, r, r + OW);
            continue;
          }
          if (lo > 0) col.fill(0, r, r + lo);
          if (hi < OW) col.fill(0, r + hi, r + OW);
          const xr = xc + ih * W + iw0;
          if (strideW === 1) {
            for (let ow = lo; ow < hi; ow++) col[r + ow] = x[xr + ow]!;
          } else {
            for (let ow = lo; ow < hi; ow++) col[r + ow] = x[xr + ow * strideW]!;
          }
        }
      }
    }
  }
}

/** The adjoint of im2col over the same band of output rows: scatter-adds columns into the image. */
function col2im(col: FloatArray, g: ConvGeometry, Cg: number, oh0: number, oh1: number, x: FloatArray, xOff: number): void {
  const { H, W, KH, KW, OW, strideH, strideW, padH, padW, dilH, dilW } = g;
  const P = (oh1 - oh0) * OW;
  for (let c = 0; c < Cg; c++) {
    const xc = xOff + c * H * W;
    for (let kh = 0; kh < KH; kh++) {
      for (let kw = 0; kw < KW; kw++) {
        const row = ((c * KH + kh) * KW + kw) * P;
        const [lo, hi] = validRange(W, OW, strideW, padW, kw * dilW);
        const iw0 = kw * dilW - padW;
        for (let oh = oh0; oh < oh1; oh++) {
          const ih = oh * strideH - padH + kh * dilH;
          if (ih < 0 || ih >= H) continue;
          const r = row + (oh - oh0) * OW;
          const xr = xc + ih * W + iw0;
          if (strideW === 1) {
            for (let ow = lo; ow < hi; ow++) x[xr + ow] = x[xr + ow]! + col[r + ow]!;
          } else {
            for (let ow = lo; ow < hi; ow++) x[xr + ow * strideW] = x[xr + ow * strideW]! + col[r + ow]!;
          }
        }
      }
    }
  }
}

type Gemm = Kernels['gemm'];

/** The three convolution kernels, lowered to `gemm`. */
export function convKernels(gemm: Gemm): Pick<Kernels, 'conv2dForward' | 'conv2dBackwardInput' | 'conv2dBackwardWeight'> {
  return {
    conv2dForward: (x, w, y, g) => conv2dForward(gemm, x, w, y, g),
    conv2dBackwardInput: (gy, w, gx, g) => conv2dBackwardInput(gemm, gy, w, gx, g),
    conv2dBackwardWeight: (x, gy, gw, g) => conv2dBackwardWeight(gemm, x, gy, gw, g),
  };
}

/** y[N,O,OH,OW] = conv(x, w) without bias. */
function conv2dForward(gemm: Gemm, x: FloatArray, w: FloatArray, y: FloatArray, g: ConvGeometry): void {
  const L = lowering(g);
  const { Og, Kc, P } = L;
  const col = L.pointwise ? null : colScratch(x, Kc * L.rows * g.OW);
  for (let n = 0; n < g.N; n++) {
    forEachBand(g, L, n, (xOff, yOff, wOff, oh0, oh1) => {
      if (col === null) {
        gemm(false, false, Og, P, Kc, w, wOff, Kc, x, xOff, P, y, yOff, P, false);
        return;
      }
      const pb = (oh1 - oh0) * g.OW;
      im2col(x, xOff, g, L.Cg, oh0, oh1, col);
      gemm(false, false, Og, pb, Kc, w, wOff, Kc, col, 0, pb, y, yOff + oh0 * g.OW, P, false);
    });
  }
}

/** gx[N,C,H,W] = d<conv(x,w), gy>/dx (the transposed convolution of gy with w). */
function conv2dBackwardInput(gemm: Gemm, gy: FloatArray, w: FloatArray, gx: FloatArray, g: ConvGeometry): void {
  const L = lowering(g);
  const { Og, Kc, P } = L;
  const col = L.pointwise ? null : colScratch(gy, Kc * L.rows * g.OW);
  // The pointwise GEMM overwrites every channel block; col2im only adds into the taps it reaches.
  if (col !== null) gx.fill(0);
  for (let n = 0; n < g.N; n++) {
    forEachBand(g, L, n, (xOff, yOff, wOff, oh0, oh1) => {
      if (col === null) {
        gemm(true, false, Kc, P, Og, w, wOff, Kc, gy, yOff, P, gx, xOff, P, false);
        return;
      }
      const pb = (oh1 - oh0) * g.OW;
      gemm(true, false, Kc, pb, Og, w, wOff, Kc, gy, yOff + oh0 * g.OW, P, col, 0, pb, false);
      col2im(col, g, L.Cg, oh0, oh1, gx, xOff);
    });
  }
}

/** gw[O,C/groups,KH,KW] = d<conv(x,w), gy>/dw. */
function conv2dBackwardWeight(gemm: Gemm, x: FloatArray, gy: FloatArray, gw: FloatArray, g: ConvGeometry): void {
  const L = lowering(g);
  const { Og, Kc, P } = L;
  const col = L.pointwise ? null : colScratch(x, Kc * L.rows * g.OW);
  gw.fill(0);
  for (let n = 0; n < g.N; n++) {
    forEachBand(g, L, n, (xOff, yOff, wOff, oh0, oh1) => {
      if (col === null) {
        gemm(false, true, Og, Kc, P, gy, yOff, P, x, xOff, P, gw, wOff, Kc, true);
        return;
      }
      const pb = (oh1 - oh0) * g.OW;
      im2col(x, xOff, g, L.Cg, oh0, oh1, col);
      gemm(false, true, Og, Kc, pb, gy, yOff + oh0 * g.OW, P, col, 0, pb, gw, wOff, Kc, true);
    });
  }
}
