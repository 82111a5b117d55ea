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
