/**
 * Shared image types. Everything in `image/` works on plain typed arrays so it can be used
 * without the tensor engine (and any engine `Tensor` fits `ShapedArray` structurally).
 */
import { ArgumentError } from '../engine/errors.js';

/**
 * An 8-bit, row-major, interleaved image. Images this module *produces* are RGB
 * (`channels: 3`) except `readPng`/`decodePng` (`lrp-tape/node`), which keep PNG's alpha (`channels: 4`, RGBA).
 * Every function that *takes* an image accepts both.
 */
export interface Image {
  readonly width: number;
  readonly height: number;
  readonly channels: 3 | 4;
  readonly data: Uint8Array;
}

/** Dense row-major numbers plus their shape, e.g. relevance `[C,H,W]` or an input `[3,H,W]`. */
export interface ShapedArray {
  readonly data: ArrayLike<number>;
  readonly shape: readonly number[];
}

export type Rgb = readonly [number, number, number];

export class ImageError extends ArgumentError {
  override name = 'ImageError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'ERR_IMAGE', options);
  }
}

export function createImage(width: number, height: number, channels: 3 | 4 = 3, fill?: Rgb): Image {
  checkDims(width, height);
  const data = new Uint8Array(width * height * channels);
  if (fill !== undefined) {
    const c = checkRgb(fill, 'fill');
    for (let p = 0; p < width * height; p++) {
      data[p * channels] = c[0];
      data[p * channels + 1] = c[1];
      data[p * channels + 2] = c[2];
      if (channels === 4) data[p * channels + 3] = 255;
    }
  } else if (channels === 4) {
    // An all-zero RGBA image would be invisible; opaque black is the least surprising blank.
    for (let p = 0; p < width * height; p++) data[p * 4 + 3] = 255;
  }
  return { width, height, channels, data };
}

/** Throws unless `img` is internally consistent; cheap enough to call at every API boundary. */
export function checkImage(img: Image, what = 'image'): void {
  checkDims(img.width, img.height, what);
  if (img.channels !== 3 && img.channels !== 4) {
    throw new ImageError(`${what} must have 3 (RGB) or 4 (RGBA) channels, got ${String(img.channels)}`);
  }
  const want = img.width * img.height * img.channels;
  if (img.data.length !== want) {
    throw new ImageError(
      `${what} data has ${img.data.length} bytes but ${img.width}x${img.height}x${img.channels} needs ${want}`,
    );
  }
}

function checkDims(width: number, height: number, what = 'image'): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 0 || height < 0) {
    throw new ImageError(`${what} size ${width}x${height} must be non-negative integers`);
  }
}

export function checkRgb(c: Rgb, what: string): Rgb {
  if (c.length !== 3 || c.some((v) => !Number.isInteger(v) || v < 0 || v > 255)) {
    throw new ImageError(`${what} must be three integers in 0..255, got [${c.join(', ')}]`);
  }
  return c;
}

/**
 * Drops alpha by compositing over `background` rather than discarding it, so transparent
 * PNG regions come out as the background instead of whatever colour hides under alpha 0.
 */
export function toRgb(img: Image, background: Rgb = [255, 255, 255]): Image {
  checkImage(img);
  if (img.channels === 3) return img;
  const bg = checkRgb(background, 'background');
  const n = img.width * img.height;
  const out = new Uint8Array(n * 3);
  for (let p = 0; p < n; p++) {
    const a = img.data[p * 4 + 3]! / 255;
    for (let c = 0; c < 3; c++) {
      out[p * 3 + c] = Math.round(img.data[p * 4 + c]! * a + bg[c]! * (1 - a));
    }
  }
  return { width: img.width, height: img.height, channels: 3, data: out };
}

export function toRgba(img: Image): Image {
  checkImage(img);
  if (img.channels === 4) return img;
  const n = img.width * img.height;
  const out = new Uint8Array(n * 4);
  for (let p = 0; p < n; p++) {
    out[p * 4] = img.data[p * 3]!;
    out[p * 4 + 1] = img.data[p * 3 + 1]!;
    out[p * 4 + 2] = img.data[p * 3 + 2]!;
    out[p * 4 + 3] = 255;
  }
  return { width: img.width, height: img.height, channels: 4, data: out };
}

/**
 * Reads `[H,W]`, `[C,H,W]` or a batch of one `[1,C,H,W]` as channels/height/width, so callers can
 * hand over model outputs without squeezing the batch axis themselves.
 */
export function planarDims(shape: readonly number[], what: string): { channels: number; height: number; width: number } {
  let s = shape;
  if (s.length === 4) {
    if (s[0] !== 1) throw new ImageError(`${what} of shape [${shape.join(', ')}] has a batch of ${s[0]}; pass one sample`);
    s = s.slice(1);
  }
  if (s.length !== 2 && s.length !== 3) {
    throw new ImageError(`${what} must have shape [H,W], [C,H,W] or [1,C,H,W], got [${shape.join(', ')}]`);
  }
  if (s.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new ImageError(`${what} shape [${shape.join(', ')}] must hold non-negative integers`);
  }
  return s.length === 2
    ? { channels: 1, height: s[0]!, width: s[1]! }
    : { channels: s[0]!, height: s[1]!, width: s[2]! };
}

export function checkShapedArray(a: ShapedArray, what: string): { channels: number; height: number; width: number } {
  const d = planarDims(a.shape, what);
  const want = d.channels * d.height * d.width;
  if (a.data.length !== want) {
    throw new ImageError(`${what} data has ${a.data.length} elements but shape [${a.shape.join(', ')}] needs ${want}`);
  }
  return d;
}
