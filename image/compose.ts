/** Putting images together: grids of several images and heatmap overlays. */
import { sumChannels } from './heatmap.js';
import { resampleBilinear, resize } from './resize.js';
import { checkImage, checkRgb, createImage, ImageError, toRgb, type Image, type Rgb, type ShapedArray } from './types.js';

export interface GridOptions {
  /** Rows; derived from `cols` (or zennit's layout) when omitted. */
  rows?: number;
  /** Columns; derived from `rows` (or zennit's layout) when omitted. */
  cols?: number;
  /** Pixels between neighbouring cells. Default 0. */
  padding?: number;
  /** Pixels around the whole grid. Default 0. */
  margin?: number;
  /** Fill for padding, margin, empty cells and around smaller images. Default white. */
  background?: Rgb;
}

function checkCount(v: number | undefined, what: string): void {
  if (v !== undefined && (!Number.isInteger(v) || v < 0)) throw new ImageError(`${what} must be a non-negative integer, got ${v}`);
}

/** Rows and columns for `n` cells; with neither given it is zennit's gridify: cols = floor(sqrt(n)). */
export function gridShape(n: number, rows?: number, cols?: number): { rows: number; cols: number } {
  checkCount(rows, 'rows');
  checkCount(cols, 'cols');
  let r = rows;
  let c = cols;
  if (r === undefined && c === undefined) {
    c = Math.max(1, Math.floor(Math.sqrt(n)));
    r = Math.ceil(n / c);
  } else if (r === undefined) {
    r = c === 0 ? 0 : Math.ceil(n / c!);
  } else if (c === undefined) {
    c = r === 0 ? 0 : Math.ceil(n / r);
  }
  // zennit silently drops images that do not fit; losing a panel unnoticed is worse than an error.
  if (r! * c! < n) throw new ImageError(`a ${r}x${c} grid cannot hold ${n} images`);
  return { rows: r!, cols: c! };
}

/**
 * Lays images out row-major. Cells are as large as the largest image; smaller images are centred.
 * RGBA inputs are composited over `background`. The result is RGB of size
 * cols*cellW + (cols-1)*padding + 2*margin by the analogous height.
 */
export function grid(images: readonly Image[], opts: GridOptions = {}): Image {
  if (images.length === 0) throw new ImageError('grid needs at least one image');
  const bg = checkRgb(opts.background ?? [255, 255, 255], 'background');
  const padding = opts.padding ?? 0;
  const margin = opts.margin ?? 0;
  checkCount(padding, 'padding');
  checkCount(margin, 'margin');
  images.forEach((im, k) => checkImage(im, `grid image ${k}`));
  const { rows, cols } = gridShape(images.length, opts.rows, opts.cols);
  const cw = Math.max(...images.map((im) => im.width));
  const chh = Math.max(...images.map((im) => im.height));
  const width = cols * cw + Math.max(cols - 1, 0) * padding + 2 * margin;
  const height = rows * chh + Math.max(rows - 1, 0) * padding + 2 * margin;
  const out = createImage(width, height, 3, bg);
  images.forEach((im, k) => {
    const rgb = toRgb(im, bg);
    const r = Math.floor(k / cols);
    const c = k % cols;
    const x0 = margin + c * (cw + padding) + Math.floor((cw - im.width) / 2);
    const y0 = margin + r * (chh + padding) + Math.floor((chh - im.height) / 2);
    for (let y = 0; y < im.height; y++) {
      const src = rgb.data.subarray(y * im.width * 3, (y + 1) * im.width * 3);
      out.data.set(src, ((y0 + y) * width + x0) * 3);
    }
  });
  return out;
}

export interface OverlayOptions {
  /** Heatmap opacity in [0, 1]. Default 0.5. */
  alpha?: number;
  /**
   * Relevance (`[C,H,W]`/`[H,W]`, summed over C) used as a mask: only pixels whose |relevance|
   * exceeds `threshold * max|relevance|` show the heatmap, so the input stays readable where
   * the explanation says nothing. Resampled bilinearly if its size differs from the base.
   */
  mask?: ShapedArray;
  /** Fraction of max|relevance| a pixel must exceed to be drawn. Default 0. */
  threshold?: number;
  /** Scale opacity by |relevance| / max|relevance| instead of an on/off mask. Default false. */
  soft?: boolean;
}

/**
 * Alpha-blends `heat` over `base`: out = (1 - a) * base + a * heat per pixel. The heatmap is
 * resized bilinearly to the base when their sizes differ. RGBA inputs are composited over
 * white first. Returns RGB at the base's size.
 */
export function overlay(base: Image, heat: Image, opts: OverlayOptions = {}): Image {
  checkImage(base, 'overlay base');
  checkImage(heat, 'overlay heatmap');
  const alpha = opts.alpha ?? 0.5;
  const threshold = opts.threshold ?? 0;
  if (!(alpha >= 0 && alpha <= 1)) throw new ImageError(`overlay alpha must be in [0, 1], got ${alpha}`);
  if (!(threshold >= 0 && threshold <= 1)) throw new ImageError(`overlay threshold must be in [0, 1], got ${threshold}`);
  const { width, height } = base;
  const b = toRgb(base);
  let h = toRgb(heat);
  if (h.width !== width || h.height !== height) h = resize(h, { width, height, method: 'bilinear' });

  const n = width * height;
  const weight = new Float64Array(n).fill(alpha);
  if (opts.mask !== undefined) {
    const plane = sumChannels(opts.mask, 'overlay mask');
    let mag: Float64Array = plane.data.map(Math.abs);
    if (plane.width !== width || plane.height !== height) {
      mag = resampleBilinear(mag, plane.width, plane.height, 1, width, height);
    }
    let max = 0;
    for (const v of mag) if (Number.isFinite(v) && v > max) max = v;
    for (let p = 0; p < n; p++) {
      // An all-zero mask explains nothing, so nothing is drawn (and nothing divides by zero).
      const w = max > 0 && Number.isFinite(mag[p]!) ? mag[p]! / max : 0;
      weight[p] = w > threshold ? (opts.soft ? alpha * w : alpha) : 0;
    }
  }
  const data = new Uint8Array(n * 3);
  for (let p = 0; p < n; p++) {
    const a = weight[p]!;
    for (let c = 0; c < 3; c++) {
      const i = p * 3 + c;
      data[i] = Math.round((1 - a) * b.data[i]! + a * h.data[i]!);
    }
  }
  return { width, height, channels: 3, data };
}
