/**
 * The original straightforward kernels, kept verbatim as the oracle that the engine's kernels
 * (every backend in engine/kernels/) are tested against (spec/engine/kernels/gemm-conv.spec.ts, kernel-oracle.ts)
 * and benchmarked against (bench/kernels.ts). Not shipped.
 */
import type { ConvGeometry, FloatArray } from '../../engine/kernels/types.js';

/**
 * C[M,N] (+)= op(A)[M,K] * op(B)[K,N], row-major with explicit offsets. op(A) = A or A^T
 * (A stored [K,M] when transposed), likewise B. Loop orders are chosen so the innermost loop walks
 * contiguous memory.
 */
export function gemmReference(
  transA: boolean,
  transB: boolean,
  M: number,
  N: number,
  K: number,
  A: FloatArray,
  aOff: number,
  B: FloatArray,
  bOff: number,
  C: FloatArray,
  cOff: number,
  accumulate: boolean,
): void {
  if (!accumulate) C.fill(0, cOff, cOff + M * N);
  if (!transA && !transB) {
    for (let i = 0; i < M; i++) {
      const ci = cOff + i * N;
      const ai = aOff + i * K;
      for (let k = 0; k < K; k++) {
        const a = A[ai + k]!;
        if (a === 0) continue;
        const bk = bOff + k * N;
        for (let j = 0; j < N; j++) C[ci + j] = C[ci + j]! + a * B[bk + j]!;
      }
    }
  } else if (!transA && transB) {
    for (let i = 0; i < M; i++) {
      const ai = aOff + i * K;
      const ci = cOff + i * N;
      for (let j = 0; j < N; j++) {
        const bj = bOff + j * K;
        let acc = 0;
        for (let k = 0; k < K; k++) acc += A[ai + k]! * B[bj + k]!;
        C[ci + j] = C[ci + j]! + acc;
      }
    }
  } else if (transA && !transB) {
    for (let k = 0; k < K; k++) {
      const ak = aOff + k * M;
      const bk = bOff + k * N;
      for (let i = 0; i < M; i++) {
        const a = A[ak + i]!;
        if (a === 0) continue;
        const ci = cOff + i * N;
        for (let j = 0; j < N; j++) C[ci + j] = C[ci + j]! + a * B[bk + j]!;
      }
    }
  } else {
    for (let i = 0; i < M; i++) {
      const ci = cOff + i * N;
      for (let j = 0; j < N; j++) {
        const bj = bOff + j * K;
        let acc = 0;
        for (let k = 0; k < K; k++) acc += A[aOff + k * M + i]! * B[bj + k]!;
        C[ci + j] = C[ci + j]! + acc;
      }
    }
  }
}

function newLike(a: FloatArray, n: number): FloatArray {
  return a instanceof Float32Array ? new Float32Array(n) : new Float64Array(n);
}

/** col[(c*KH+kh)*KW+kw, oh*OW+ow] = x[n, g*Cg + c, oh*s - p + kh*d, ...] (0 outside). */
function im2col(x: FloatArray, xOff: number, g: ConvGeometry, col: FloatArray): void {
  const { H, W, KH, KW, OH, OW, strideH, strideW, padH, padW, dilH, dilW } = g;
  const Cg = g.C / g.groups;
  const P = OH * OW;
  for (let c = 0; c < Cg; c++) {
    const xc = xOff + c * H * W;
    for (let kh = 0; kh < KH; kh++) {
      for (let kw = 0; kw < KW; kw++) {
        const row = ((c * KH + kh) * KW + kw) * P;
        for (let oh = 0; oh < OH; oh++) {
          const ih = oh * strideH - padH + kh * dilH;
          const r = row + oh * OW;
          if (ih < 0 || ih >= H) {
            col.fill(0, r, r + OW);
            continue;
          }
          const xr = xc + ih * W;
          for (let ow = 0; ow < OW; ow++) {
            const iw = ow * strideW - padW + kw * dilW;
            col[r + ow] = iw >= 0 && iw < W ? x[xr + iw]! : 0;
          }
        }
      }
    }
  }
}

/** The adjoint of im2col: scatter-adds columns back into the image. */
function col2im(col: FloatArray, g: ConvGeometry, x: FloatArray, xOff: number): void {
  const { H, W, KH, KW, OH, OW, strideH, strideW, padH, padW, dilH, dilW } = g;
  const Cg = g.C / g.groups;
  const P = OH * OW;
  for (let c = 0; c < Cg; c++) {
    const xc = xOff + c * H * W;
    for (let kh = 0; kh < KH; kh++) {
      for (let kw = 0; kw < KW; kw++) {
        const row = ((c * KH + kh) * KW + kw) * P;
        for (let oh = 0; oh < OH; oh++) {
          const ih = oh * strideH - padH + kh * dilH;
          if (ih < 0 || ih >= H) continue;
          const r = row + oh * OW;
          const xr = xc + ih * W;
          for (let ow = 0; ow < OW; ow++) {
            const iw = ow * strideW - padW + kw * dilW;
            if (iw >= 0 && iw < W) x[xr + iw] = x[xr + iw]! + col[r + ow]!;
          }
        }
      }
    }
  }
}

/** y[N,O,OH,OW] = conv(x, w) without bias. */
export function conv2dForwardReference(x: FloatArray, w: FloatArray, y: FloatArray, g: ConvGeometry): void {
  const Cg = g.C / g.groups;
  const Og = g.O / g.groups;
  const Kc = Cg * g.KH * g.KW;
  const P = g.OH * g.OW;
  const col = newLike(x, Kc * P);
  for (let n = 0; n < g.N; n++) {
    for (let gr = 0; gr < g.groups; gr++) {
      im2col(x, (n * g.C + gr * Cg) * g.H * g.W, g, col);
      gemmReference(false, false, Og, P, Kc, w, gr * Og * Kc, col, 0, y, (n * g.O + gr * Og) * P, false);
    }
  }
}

/** gx[N,C,H,W] = d<conv(x,w), gy>/dx (the transposed convolution of gy with w). */
export function conv2dBackwardInputReference(gy: FloatArray, w: FloatArray, gx: FloatArray, g: ConvGeometry): void {
  const Cg = g.C / g.groups;
  const Og = g.O / g.groups;
  const Kc = Cg * g.KH * g.KW;
  const P = g.OH * g.OW;
  const col = newLike(gy, Kc * P);
  gx.fill(0);
  for (let n = 0; n < g.N; n++) {
    for (let gr = 0; gr < g.groups; gr++) {
      gemmReference(true, false, Kc, P, Og, w, gr * Og * Kc, gy, (n * g.O + gr * Og) * P, col, 0, false);
      col2im(col, g, gx, (n * g.C + gr * Cg) * g.H * g.W);
    }
  }
}

/** gw[O,C/groups,KH,KW] = d<conv(x,w), gy>/dw. */
export function conv2dBackwardWeightReference(x: FloatArray, gy: FloatArray, gw: FloatArray, g: ConvGeometry): void {
  const Cg = g.C / g.groups;
  const Og = g.O / g.groups;
  const Kc = Cg * g.KH * g.KW;
  const P = g.OH * g.OW;
  const col = newLike(x, Kc * P);
  gw.fill(0);
  for (let n = 0; n < g.N; n++) {
    for (let gr = 0; gr < g.groups; gr++) {
      im2col(x, (n * g.C + gr * Cg) * g.H * g.W, g, col);
      gemmReference(false, true, Og, Kc, P, gy, (n * g.O + gr * Og) * P, col, 0, gw, gr * Og * Kc, true);
    }
  }
}
