/**
 * How every convolution backend lowers a convolution (ts/conv.ts, wasm/conv.ts, and the threaded
 * split in parallel/, whose tiles must cut where the serial kernels cut): im2col one band of
 * output rows at a time, or no im2col at all for a pointwise kernel.
 */
import type { ConvGeometry } from './types.js';

/**
 * Upper bound on the im2col scratch, in elements. Larger convolutions are lowered a band of
 * output rows at a time, so the buffer stays a few MB instead of growing to Kc * OH * OW
 * (hundreds of MB for early VGG layers in float64).
 */
export const COL_CAP = 1 << 21;

/** Output rows per band for `Kc` = (C / groups) * KH * KW rows of the column matrix. */
export function bandRows(g: ConvGeometry, Kc = (g.C / g.groups) * g.KH * g.KW): number {
  return Math.max(1, Math.min(g.OH, Math.floor(COL_CAP / (Kc * g.OW))));
}

/** A 1x1, stride-1, unpadded kernel makes im2col the identity: the image already is the column matrix. */
export function isPointwise(g: ConvGeometry): boolean {
  return g.KH === 1 && g.KW === 1 && g.strideH === 1 && g.strideW === 1 && g.padH === 0 && g.padW === 0;
}

/** The sizes of one convolution's lowering, per group: the GEMMs' dimensions and the band height. */
export interface Lowering {
  /** Input and output channels of a group. */
  Cg: number;
  Og: number;
  /** Rows of the column matrix (Cg * KH * KW). */
  Kc: number;
  /** Output pixels (OH * OW) and input pixels (H * W) of an image. */
  P: number;
  HW: number;
  /** Output rows per band, and whether the image is its own column matrix. */
  rows: number;
  pointwise: boolean;
}

export function lowering(g: ConvGeometry): Lowering {
  const Cg = g.C / g.groups;
  const Kc = Cg * g.KH * g.KW;
  return { Cg, Og: g.O / g.groups, Kc, P: g.OH * g.OW, HW: g.H * g.W, rows: bandRows(g, Kc), pointwise: isPointwise(g) };
}

/**
 * The order every backend computes image `n` in: group by group, and within a group band by band
 * of output rows [oh0, oh1) (one band of all rows when pointwise). `visit` gets the element offsets
 * of the group's block of the input image (x, or gx), of the output image (y, or gy) and of the
 * weight, in the NCHW / OIHW layouts of `g`.
 */
export function forEachBand(
  g: ConvGeometry, L: Lowering, n: number,
  visit: (xOff: number, yOff: number, wOff: number, oh0: number, oh1: number) => void,
): void {
  for (let gr = 0; gr < g.groups; gr++) {
    const xOff = (n * g.C + gr * L.Cg) * L.HW;
    const yOff = (n * g.O + gr * L.Og) * L.P;
    const wOff = gr * L.Og * L.Kc;
    if (L.pointwise) {
      visit(xOff, yOff, wOff, 0, g.OH);
      continue;
    }
    for (let oh0 = 0; oh0 < g.OH; oh0 += L.rows) visit(xOff, yOff, wOff, oh0, Math.min(g.OH, oh0 + L.rows));
  }
}
