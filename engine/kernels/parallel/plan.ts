/**
 * How a convolution is cut into tiles: the kernel kinds, the splits, and the chunk boundaries for
 * a thread count. The main thread and the workers both run `convTile` (tiles.ts) on arrays in the
 * full NCHW / OIHW layout (the originals on the main thread, views of shared memory in a worker),
 * each writing only its own part of the output. A tile is a smaller convolution (a sub-geometry)
 * run through the ordinary single-threaded kernel, so every output element is computed by the same
 * arithmetic in the same order as without threads: the results are bit-identical whatever the
 * number of threads.
 *
 * The kernel to run is a parameter: the rest of the dispatcher's table below the threads.
 */
import type { FloatArray, ConvGeometry } from '../types.js';
import { bandRows } from '../conv-bands.js';

export type ConvFn = (a: FloatArray, b: FloatArray, out: FloatArray, g: ConvGeometry) => void;

/** Which convolution kernel. Arrays (a, b, out): forward (x, w, y), input grad (gy, w, gx), weight grad (x, gy, gw). */
export const FORWARD = 0;
export const BACKWARD_INPUT = 1;
export const BACKWARD_WEIGHT = 2;
export type ConvKind = typeof FORWARD | typeof BACKWARD_INPUT | typeof BACKWARD_WEIGHT;

/**
 * Splits. Units are what a thread gets a contiguous range of.
 * - OUT_ROWS (forward): output rows, flattened over the batch (N * OH units).
 * - IN_ROWS (input grad): input rows, flattened over the batch; when the single-threaded kernel
 *   lowers an image in several bands of output rows, the units are those bands (N * bands) so that
 *   the tiles' bands coincide with the whole computation's and col2im adds in the same order.
 * - W_CHANNELS (weight grad, one group, one band): input channels, i.e. columns of dW.
 * - W_OUT (weight grad, one group, several bands): output channels, i.e. rows of dW.
 * - W_GROUPS (weight grad, groups > 1): whole groups.
 * - OUT_CHANNELS (forward, one group): output channels, i.e. rows of the weight matrix; for
 *   layers with more output channels than output pixels (deep ResNet stages), where cutting rows
 *   would have every chunk copy and pack the whole (large) weight.
 * - IN_CHANNELS (input grad, one group, one band, enough channels): input channels.
 * Row splits repeat the weight in every chunk, channel splits the (then small) image or its im2col.
 */
export const OUT_ROWS = 1;
export const IN_ROWS = 2;
export const W_CHANNELS = 3;
export const W_OUT = 4;
export const W_GROUPS = 5;
export const OUT_CHANNELS = 6;
export const IN_CHANNELS = 7;

/** The serial kernels lower `bandRows` output rows at a time; tiles cut along the same bands. */
export { bandRows };

/** A box of a 4-D row-major array [D0, D1, D2, D3]: ranges over the first three dims, the last whole. */
export interface Box {
  n0: number;
  n1: number;
  c0: number;
  c1: number;
  h0: number;
  h1: number;
}
export type Dims = readonly [number, number, number, number];

export interface Plan {
  split: number;
  /** Chunk boundaries in units: chunk c is units [bounds[c], bounds[c + 1]). Threads take chunks in turn. */
  bounds: number[];
}

// ---------------------------------------------------------------------------------------------
// Planning

/**
 * Multiply-adds below which a job is cut into just one chunk per thread: each chunk is one kernel
 * call with its own operand copies and set-up (tens of microseconds), which a small job cannot
 * amortise over a tail of smaller chunks.
 */
export const SMALL_JOB_WORK = 1 << 24;

/**
 * Guided self-scheduling: T large chunks (3/4 of the work between them), then chunks of a 2T-th
 * of what is left, never smaller than minChunk. Threads take chunks in order as they become free,
 * so a thread that starts late or runs slow (a busy core) costs little, while the few chunks keep
 * the per-call overhead (each chunk is one kernel call, copying its operands) small. Jobs below
 * SMALL_JOB_WORK multiply-adds get T equal chunks. The chunk boundaries depend only on the shape
 * and T, never on timing, so neither do the results.
 */
export function guidedBounds(units: number, T: number, minChunk: number, work = Infinity): number[] {
  if (work < SMALL_JOB_WORK) return evenBounds(units, Math.max(1, Math.min(T, Math.floor(units / Math.max(1, minChunk)))));
  const b = [0];
  let pos = 0;
  const first = Math.max(minChunk, Math.floor((units * 3) / (4 * T)));
  for (let t = 0; t < T && pos < units; t++) {
    pos = Math.min(units, pos + first);
    b.push(pos);
  }
  while (pos < units) {
    pos = Math.min(units, pos + Math.max(minChunk, Math.ceil((units - pos) / (2 * T))));
    b.push(pos);
  }
  // A last sliver shorter than half a chunk joins the chunk before it.
  if (b.length > 2 && b[b.length - 1]! - b[b.length - 2]! < minChunk / 2) b.splice(b.length - 2, 1);
  return b;
}

function evenBounds(units: number, T: number): number[] {
  const b = [0];
  for (let t = 1; t <= T; t++) {
    const x = Math.floor((t * units) / T);
    if (x > b[b.length - 1]!) b.push(x);
  }
  return b;
}

/**
 * Row chunks over N images of R units each: guided chunks, with a boundary that falls within
 * `snap` units of an image edge moved onto it (a sliver of an image is a poor tile).
 */
function rowBounds(N: number, R: number, T: number, minChunk: number, snap: number, work: number): number[] {
  const b = guidedBounds(N * R, T, minChunk, work);
  for (let t = 1; t < b.length - 1; t++) {
    const r = b[t]! % R;
    if (r !== 0 && r < snap) b[t] = b[t]! - r;
    else if (r !== 0 && R - r < snap) b[t] = b[t]! + (R - r);
  }
  return b.filter((x, i) => i === 0 || x > b[i - 1]!);
}

/** Whether a plan gives at least two threads something to do. */
function useful(p: Plan): Plan | null {
  return p.bounds.length > 2 ? p : null;
}

/**
 * The fewest rows (or columns) a tile's GEMM may have so that it takes the same kernel path as the
 * whole convolution's: gemm.ts runs unpacked loops for fewer than 3 rows, 2 columns or 256
 * multiply-adds, and the packed kernel otherwise (the WebAssembly convolutions have one path).
 */
function pathMin(perUnit: number, minUnits: number): number {
  return Math.max(minUnits, Math.ceil(256 / Math.max(1, perUnit)));
}

/**
 * The chunks of `kind` for T threads, or null when the convolution cannot be cut into tiles that
 * each compute the same as the whole (then it runs on one thread).
 */
export function planConv(kind: ConvKind, g: ConvGeometry, T: number): Plan | null {
  const Cg = g.C / g.groups;
  const Og = g.O / g.groups;
  const Kc = Cg * g.KH * g.KW;
  const P = g.OH * g.OW;
  const singleBand = bandRows(g) >= g.OH;
  const work = g.N * g.O * Kc * P;
  if (kind === FORWARD) {
    // GEMMs: [Og x Kc] weight times [Kc x output pixels].
    if (g.groups === 1 && g.O > g.N * P && g.O >= 8) {
      const min = Math.max(pathMin(Kc * g.OW, 3), Math.ceil(g.O / (4 * T)));
      return useful({ split: OUT_CHANNELS, bounds: guidedBounds(g.O, T, min, work) });
    }
    // A tile has at least 32 output pixels (and its GEMMs at least 2 columns and 256
    // multiply-adds); at most about 4T chunks, each of which copies and packs the weight again.
    const min = Math.max(Math.ceil(2 / g.OW), pathMin(Og * Kc * g.OW, 1), Math.ceil(32 / g.OW), Math.ceil((g.N * g.OH) / (4 * T)));
    if (!singleBand && Og * Kc * g.OW < 256) return null;
    if (g.N * g.OH < 2 * min) return null;
    return useful({ split: OUT_ROWS, bounds: rowBounds(g.N, g.OH, T, min, min, work) });
  }
  if (kind === BACKWARD_INPUT) {
    // GEMMs: [Kc x Og] transposed weight times [Og x output pixels], then col2im.
    // Input channels when there are enough of them: no halo (a row tile recomputes the output
    // rows its neighbours also read, 5-30% more work), and the weight is not repeated.
    if (g.groups === 1 && singleBand && g.C >= 4 * T) {
      const min = Math.max(Math.ceil(pathMin(P * Og, 3) / (g.KH * g.KW)), Math.ceil(g.C / (4 * T)));
      return useful({ split: IN_CHANNELS, bounds: guidedBounds(g.C, T, min, work) });
    }
    // A 1x1 stride-1 kernel padded only in H: a row tile's sub-geometry would lose its padding and
    // take the pointwise path, which writes -0 where col2im's 0 + (-0) gives +0.
    if (g.KH === 1 && g.KW === 1 && g.strideH === 1 && g.strideW === 1 && g.padW === 0 && g.padH > 0) return null;
    if (!singleBand) {
      // Chunks of whole bands; a tile's partial band (its halo) is at least one row.
      if (g.OW < 2 || Kc * Og * g.OW < 256) return null;
      const bands = Math.ceil(g.OH / bandRows(g));
      return useful({ split: IN_ROWS, bounds: rowBounds(g.N, bands, T, 1, 1, work) });
    }
    const rows = Math.max(Math.ceil(2 / g.OW), pathMin(Kc * Og * g.OW, 1), Math.ceil(32 / g.OW));
    const min = Math.max(rows * g.strideH, Math.ceil((g.N * g.H) / (4 * T)));
    if (g.N * g.H < 2 * min) return null;
    return useful({ split: IN_ROWS, bounds: rowBounds(g.N, g.H, T, min, min, work) });
  }
  // GEMMs: [Og x output pixels] gy times the [output pixels x Kc] im2col transposed.
  if (g.groups > 1) return useful({ split: W_GROUPS, bounds: guidedBounds(g.groups, T, Math.ceil(g.groups / (4 * T)), work) });
  // Each chunk of a weight gradient copies all of gy (or, for W_OUT, repeats the whole im2col):
  // fewer, larger chunks.
  if (singleBand) {
    const min = Math.max(Math.ceil(pathMin(Og * P, 2) / (g.KH * g.KW)), Math.ceil(g.C / (4 * T)));
    return useful({ split: W_CHANNELS, bounds: guidedBounds(g.C, T, min, work) });
  }
  // Tiles of at least 3 output channels (the GEMM's rows), one per thread: each repeats the im2col.
  return useful({ split: W_OUT, bounds: evenBounds(g.O, Math.min(T, Math.floor(g.O / pathMin(Kc * g.OW, 3)))) });
}
