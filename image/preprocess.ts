/**
 * torchvision's ImageNet preprocessing on PIL images: Resize (shorter side, antialiased
 * bilinear), CenterCrop, ToTensor + Normalize. The resize reproduces Pillow's own resampler
 * (ImagingResample: separable triangle filter widened by the scale when shrinking, 22-bit
 * fixed-point weights, horizontal pass first, 8-bit rounding between the passes), because that
 * is what a model trained through torchvision's PIL pipeline saw; plain bilinear sampling
 * without antialiasing differs from it by tens of levels on a 2x downscale.
 */
import { IMAGENET_MEAN, IMAGENET_STD } from './convert.js';
import { checkImage, ImageError, type Image } from './types.js';

/** Pillow's fixed-point precision for 8-bit resampling (32 bits - 8 for the value - 2 for sign and overflow). */
const PRECISION_BITS = 22;
const ONE = 2 ** PRECISION_BITS;
const HALF = 2 ** (PRECISION_BITS - 1);

interface Taps {
  /** First source index of each output sample. */
  start: Int32Array;
  /** Number of source samples of each output sample. */
  count: Int32Array;
  /** `kernelSize` integer weights per output sample (summing to about 2^22). */
  weights: Int32Array;
  kernelSize: number;
}

/** Pillow's precompute_coeffs for the bilinear (triangle, support 1) filter, then normalize_coeffs_8bpc. */
function antialiasTaps(inSize: number, outSize: number): Taps {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filterScale;
  const kernelSize = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * kernelSize);
  const k = new Float64Array(kernelSize);
  for (let o = 0; o < outSize; o++) {
    const center = (o + 0.5) * scale;
    // C's (int) cast truncates toward zero; Math.trunc keeps that for the slightly negative left edge.
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    const ss = 1 / filterScale;
    let total = 0;
    for (let x = 0; x < xmax; x++) {
      const d = Math.abs((x + xmin - center + 0.5) * ss);
      const w = d < 1 ? 1 - d : 0;
      k[x] = w;
      total += w;
    }
    for (let x = 0; x < xmax; x++) {
      const w = total !== 0 ? k[x]! / total : k[x]!;
      // C rounds half away from zero here; the weights are never negative for this filter.
      weights[o * kernelSize + x] = Math.trunc(w * ONE + (w < 0 ? -0.5 : 0.5));
    }
    start[o] = xmin;
    count[o] = xmax;
  }
  return { start, count, weights, kernelSize };
}

/** Pillow's clip8: the fixed-point sum (with its rounding half already added) back to 0..255. */
function clip8(v: number): number {
  if (v >= 256 * ONE) return 255;
  if (v <= 0) return 0;
  return Math.floor(v / ONE);
}

/** One separable pass along x (`horizontal`) or y, on interleaved 8-bit data. */
function pass(src: Uint8Array, width: number, height: number, ch: number, taps: Taps, horizontal: boolean): Uint8Array {
  const outW = horizontal ? taps.start.length : width;
  const outH = horizontal ? height : taps.start.length;
  const out = new Uint8Array(outW * outH * ch);
  const { start, count, weights, kernelSize } = taps;
  for (let y = 0; y < outH; y++) {
    for (let x = 0; x < outW; x++) {
      const o = horizontal ? x : y;
      const s0 = start[o]!;
      const n = count[o]!;
      const wo = o * kernelSize;
      for (let c = 0; c < ch; c++) {
        let acc = HALF;
        for (let t = 0; t < n; t++) {
          const idx = horizontal ? (y * width + s0 + t) * ch + c : ((s0 + t) * width + x) * ch + c;
          acc += src[idx]! * weights[wo + t]!;
        }
        out[(y * outW + x) * ch + c] = clip8(acc);
      }
    }
  }
  return out;
}

/**
 * Antialiased bilinear resize to exactly `width` x `height`, bit-for-bit what Pillow's
 * `Image.resize(size, Image.BILINEAR)` returns (and so torchvision's Resize on a PIL image).
 * Upscaling is plain bilinear interpolation; downscaling averages over the whole footprint.
 */
export function resizeAntialiased(img: Image, width: number, height: number): Image {
  checkImage(img);
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new ImageError(`resize target ${width}x${height} must be positive integers`);
  }
  if (img.width === 0 || img.height === 0) throw new ImageError(`cannot resize an empty ${img.width}x${img.height} image`);
  const ch = img.channels;
  let data = img.data;
  let w = img.width;
  if (width !== img.width) {
    data = pass(data, w, img.height, ch, antialiasTaps(img.width, width), true);
    w = width;
  }
  if (height !== img.height) data = pass(data, w, img.height, ch, antialiasTaps(img.height, height), false);
  if (data === img.data) data = img.data.slice();
  return { width, height, channels: ch, data };
}

/**
 * torchvision's size for `Resize(size)` with one number: the shorter side becomes `size`, the
 * longer one `int(size * long / short)` (truncated, as Python's int() does).
 */
export function shorterSideSize(width: number, height: number, size: number): { width: number; height: number } {
  if (!Number.isInteger(size) || size < 1) throw new ImageError(`resize size must be a positive integer, got ${size}`);
  if (width < 1 || height < 1) throw new ImageError(`cannot resize an empty ${width}x${height} image`);
  if (width <= height) return { width: size, height: Math.trunc((size * height) / width) };
  return { width: Math.trunc((size * width) / height), height: size };
}

/** `Resize(size)` with one number: shorter side to `size`, aspect ratio kept, antialiased bilinear. */
export function resizeShorterSide(img: Image, size: number): Image {
  const s = shorterSideSize(img.width, img.height, size);
  return resizeAntialiased(img, s.width, s.height);
}

/** Python's round(): halves go to the even neighbour (torchvision's crop offsets use it). */
function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** torchvision's CenterCrop to `height` x `width`; an image smaller than the crop is an error (torchvision would pad). */
export function centerCrop(img: Image, width: number, height: number = width): Image {
  checkImage(img);
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new ImageError(`crop size ${width}x${height} must be positive integers`);
  }
  if (width > img.width || height > img.height) {
    throw new ImageError(`cannot center-crop ${width}x${height} from a ${img.width}x${img.height} image`);
  }
  const top = roundHalfEven((img.height - height) / 2);
  const left = roundHalfEven((img.width - width) / 2);
  const ch = img.channels;
  const data = new Uint8Array(width * height * ch);
  for (let y = 0; y < height; y++) {
    const from = ((top + y) * img.width + left) * ch;
    data.set(img.data.subarray(from, from + width * ch), y * width * ch);
  }
  return { width, height, channels: ch, data };
}

/** A torchvision-style preprocessing pipeline for a 3-channel model input. */
export interface Preprocess {
  /** Shorter side is resized to this (antialiased bilinear); omitted: no resize. */
  resize?: number;
  /** Center crop to this square size; omitted: no crop. */
  crop?: number;
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
}

/** `Resize(256)`, `CenterCrop(224)`, ImageNet mean/std: what torchvision's ImageNet classifiers expect. */
export const IMAGENET_PREPROCESS: Readonly<Preprocess> = Object.freeze({ resize: 256, crop: 224, mean: IMAGENET_MEAN, std: IMAGENET_STD });

/** Named presets for `--preprocess`. */
export const PREPROCESS_PRESETS: Readonly<Record<string, Readonly<Preprocess>>> = Object.freeze({ imagenet: IMAGENET_PREPROCESS });

export interface Preprocessed {
  /** The image after resize and crop (RGB or RGBA as given). */
  image: Image;
  /** `[3, H, W]` float32: ToTensor (/255) then Normalize, computed in float32 as torch does. */
  data: Float32Array;
}

/** Resize, crop, ToTensor and Normalize, in torchvision's order. Alpha is dropped as PIL's convert('RGB') does. */
export function preprocess(img: Image, p: Preprocess): Preprocessed {
  checkImage(img);
  let out = img;
  if (p.resize !== undefined) out = resizeShorterSide(out, p.resize);
  if (p.crop !== undefined) out = centerCrop(out, p.crop);
  const hw = out.width * out.height;
  const ch = out.channels;
  const data = new Float32Array(3 * hw);
  const f = Math.fround;
  for (let c = 0; c < 3; c++) {
    const m = f(p.mean[c]!);
    const s = f(p.std[c]!);
    if (s === 0) throw new ImageError(`std must not contain 0, got [${p.std.join(', ')}]`);
    for (let i = 0; i < hw; i++) data[c * hw + i] = f(f(f(out.data[i * ch + c]! / 255) - m) / s);
  }
  return { image: out, data };
}
