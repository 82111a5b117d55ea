/**
 * Relevance maps to palette indices and RGB heatmaps, following zennit's `imgify` semantics
 * (`symmetric`, `vmin`/`vmax`, `level`) with one intentional change: values are quantised to
 * the *nearest* palette entry instead of truncated, so 0 lands on index 128 -- the entry where
 * zennit's diverging maps put their centre node (`80:`) -- rather than zennit's 127.
 */
import { getColorMap, DEFAULT_CMAP, type ColorMap } from './cmap.js';
import { checkShapedArray, ImageError, type Image, type ShapedArray } from './types.js';

/** Palette index that 0 maps to under symmetric normalisation. */
export const CENTER_INDEX = 128;

export interface NormalizeOptions {
  /**
   * true (default here; zennit's imgify defaults to false): bounds are ±max|x| so 0 sits at the
   * centre and equal magnitudes of opposite sign get mirrored colours. false: min maps to 0,
   * max to 255.
   */
  symmetric?: boolean;
  /** Overrides the computed lower bound (maps to index 0). */
  vmin?: number;
  /** Overrides the computed upper bound (maps to index 255). */
  vmax?: number;
}

export interface HeatmapOptions extends NormalizeOptions {
  /** Built-in name (see `CMAPS`), CMSL source, or a `ColorMap`. Default 'bwr'. */
  cmap?: string | ColorMap;
  /** zennit's palette `level`: < 1 compresses colours towards the centre, > 1 saturates earlier. */
  level?: number;
}

/** A single-channel plane of float values, e.g. relevance summed over channels. */
export interface Plane {
  readonly width: number;
  readonly height: number;
  readonly data: Float64Array;
}

/** Sums `[C,H,W]` over C (`[H,W]` passes through) in float64, so float32 inputs do not lose sums. */
export function sumChannels(rel: ShapedArray, what = 'relevance'): Plane {
  const { channels, height, width } = checkShapedArray(rel, what);
  const hw = height * width;
  const out = new Float64Array(hw);
  const src = rel.data;
  for (let c = 0; c < channels; c++) {
    const off = c * hw;
    for (let p = 0; p < hw; p++) out[p] += src[off + p]!;
  }
  return { width, height, data: out };
}

/**
 * zennit's `interval_norm_bounds` with per-side overrides. Non-finite values are skipped so one
 * stray NaN/Inf cannot wash out the whole map.
 */
export function normalizationBounds(values: ArrayLike<number>, opts: NormalizeOptions = {}): { vmin: number; vmax: number } {
  const symmetric = opts.symmetric ?? true;
  let lo = Infinity;
  let hi = -Infinity;
  let absMax = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
    const a = Math.abs(v);
    if (a > absMax) absMax = a;
  }
  if (lo === Infinity) lo = hi = 0;
  // A constant map carries no contrast: it shows the centre colour, whatever its value.
  if (lo === hi && opts.vmin === undefined && opts.vmax === undefined) return { vmin: lo, vmax: lo };
  let vmin = symmetric ? -absMax : lo;
  let vmax = symmetric ? absMax : hi;
  if (opts.vmin !== undefined) vmin = opts.vmin;
  if (opts.vmax !== undefined) vmax = opts.vmax;
  if (!Number.isFinite(vmin) || !Number.isFinite(vmax)) {
    throw new RangeError(`normalisation bounds must be finite, got vmin=${vmin}, vmax=${vmax}`);
  }
  if (vmin > vmax) throw new RangeError(`vmin (${vmin}) must not exceed vmax (${vmax})`);
  return { vmin, vmax };
}

/**
 * Maps values to palette indices: vmin -> 0, vmax -> 255, their midpoint -> 128, rounding to the
 * nearest entry (entry i represents the normalised value i/255). Out-of-range values clip; NaN
 * and degenerate bounds (vmin == vmax, e.g. an all-zero map) give the centre index, never NaN.
 * Under symmetric bounds, idx(x) + idx(-x) is 255 or 256: mirrored around 127.5 exactly like
 * zennit's palette, whose entries i and 255-i sample the colour map at opposite points.
 */
export function paletteIndices(values: ArrayLike<number>, opts: NormalizeOptions = {}): Uint8Array {
  const { vmin, vmax } = normalizationBounds(values, opts);
  const out = new Uint8Array(values.length).fill(CENTER_INDEX);
  // Scale by the larger bound first: (x - vmin) / (vmax - vmin) overflows for |x| near 1e308.
  const s = Math.max(Math.abs(vmin), Math.abs(vmax));
  if (!(vmax > vmin) || s === 0) return out;
  const a = vmin / s;
  const b = vmax / s;
  const mid = a + b;
  const span = b - a;
  for (let i = 0; i < values.length; i++) {
    const x = values[i]!;
    if (Number.isNaN(x)) continue;
    // t in [-1, 1] over [vmin, vmax]; symmetric bounds give mid = 0, span = 2, so t = x / s exactly.
    const t = (2 * (x / s) - mid) / span;
    const idx = Math.floor(CENTER_INDEX + 127.5 * t);
    out[i] = idx < 0 ? 0 : idx > 255 ? 255 : idx;
  }
  return out;
}

/** Looks palette indices up as an RGB image. */
export function colorize(
  indices: Uint8Array,
  width: number,
  height: number,
  cmap: string | ColorMap = DEFAULT_CMAP,
  level = 1,
): Image {
  if (indices.length !== width * height) {
    throw new ImageError(`${indices.length} palette indices do not fill ${width}x${height}`);
  }
  const pal = getColorMap(cmap).cachedPalette(level);
  const data = new Uint8Array(width * height * 3);
  for (let p = 0; p < indices.length; p++) {
    const k = indices[p]! * 3;
    data[p * 3] = pal[k]!;
    data[p * 3 + 1] = pal[k + 1]!;
    data[p * 3 + 2] = pal[k + 2]!;
  }
  return { width, height, channels: 3, data };
}

/**
 * Relevance `[C,H,W]`, `[H,W]` or `[1,C,H,W]` -> RGB heatmap `[H,W,3]` (channels summed first,
 * as zennit's examples do). Default: symmetric normalisation on the 'bwr' map at level 1.
 */
export function heatmap(rel: ShapedArray, opts: HeatmapOptions = {}): Image {
  const plane = sumChannels(rel);
  const indices = paletteIndices(plane.data, opts);
  return colorize(indices, plane.width, plane.height, opts.cmap ?? DEFAULT_CMAP, opts.level ?? 1);
}
