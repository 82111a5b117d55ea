/**
 * Nearest and bilinear resampling of interleaved images. Both use pixel-centre alignment
 * (PyTorch's align_corners=False), so resizing never shifts content by half a pixel. Neither
 * antialiases: large downscales alias, as torch's `interpolate` does without `antialias`.
 */
import { checkImage, ImageError, type Image } from './types.js';

export type ResizeMethod = 'nearest' | 'bilinear';

export interface ResizeOptions {
  width: number;
  height: number;
  /** Default 'bilinear'. */
  method?: ResizeMethod;
}

function checkSize(width: number, height: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 0 || height < 0) {
    throw new ImageError(`resize target ${width}x${height} must be non-negative integers`);
  }
}

/** Per output coordinate: the two source taps and the weight of the second. */
function bilinearTaps(outN: number, inN: number): { i0: Int32Array; i1: Int32Array; f: Float64Array } {
  const i0 = new Int32Array(outN);
  const i1 = new Int32Array(outN);
  const f = new Float64Array(outN);
  const scale = inN / outN;
  for (let o = 0; o < outN; o++) {
    // Clamp below at 0 like torch: edge pixels replicate instead of blending with nothing.
    const s = Math.min(Math.max((o + 0.5) * scale - 0.5, 0), inN - 1);
    const a = Math.floor(s);
    i0[o] = a;
    i1[o] = Math.min(a + 1, inN - 1);
    f[o] = s - a;
  }
  return { i0, i1, f };
}

function nearestTaps(outN: number, inN: number): Int32Array {
  const idx = new Int32Array(outN);
  const scale = inN / outN;
  for (let o = 0; o < outN; o++) idx[o] = Math.min(Math.floor((o + 0.5) * scale), inN - 1);
  return idx;
}

/**
 * Bilinear resampling of interleaved `[H,W,C]` numbers into float64, without rounding, so
 * callers that go on to normalise (model inputs, masks) keep full precision.
 */
export function resampleBilinear(
  src: ArrayLike<number>,
  width: number,
  height: number,
  channels: number,
  outWidth: number,
  outHeight: number,
): Float64Array {
  checkSize(outWidth, outHeight);
  const out = new Float64Array(outWidth * outHeight * channels);
  if (out.length === 0) return out;
  if (width === 0 || height === 0) throw new ImageError(`cannot resize an empty ${width}x${height} image to ${outWidth}x${outHeight}`);
  const xs = bilinearTaps(outWidth, width);
  const ys = bilinearTaps(outHeight, height);
  for (let oy = 0; oy < outHeight; oy++) {
    const r0 = ys.i0[oy]! * width;
    const r1 = ys.i1[oy]! * width;
    const fy = ys.f[oy]!;
    for (let ox = 0; ox < outWidth; ox++) {
      const c0 = xs.i0[ox]!;
      const c1 = xs.i1[ox]!;
      const fx = xs.f[ox]!;
      const o = (oy * outWidth + ox) * channels;
      for (let c = 0; c < channels; c++) {
        const top = src[(r0 + c0) * channels + c]! * (1 - fx) + src[(r0 + c1) * channels + c]! * fx;
        const bot = src[(r1 + c0) * channels + c]! * (1 - fx) + src[(r1 + c1) * channels + c]! * fx;
        out[o + c] = top * (1 - fy) + bot * fy;
      }
    }
  }
  return out;
}

/** Resizes an RGB or RGBA image; the result keeps the input's channel count. */
export function resize(img: Image, opts: ResizeOptions): Image {
  checkImage(img);
  const { width: ow, height: oh } = opts;
  const method = opts.method ?? 'bilinear';
  checkSize(ow, oh);
  const ch = img.channels;
  if (ow === img.width && oh === img.height) {
    return { width: ow, height: oh, channels: ch, data: img.data.slice() };
  }
  if (method === 'bilinear') {
    const f = resampleBilinear(img.data, img.width, img.height, ch, ow, oh);
    const data = new Uint8Array(f.length);
    for (let i = 0; i < f.length; i++) data[i] = Math.round(f[i]!);
    return { width: ow, height: oh, channels: ch, data };
  }
  if (method !== 'nearest') throw new ImageError(`unknown resize method '${String(method)}'`);
  const data = new Uint8Array(ow * oh * ch);
  if (data.length === 0) return { width: ow, height: oh, channels: ch, data };
  if (img.width === 0 || img.height === 0) {
    throw new ImageError(`cannot resize an empty ${img.width}x${img.height} image to ${ow}x${oh}`);
  }
  const xs = nearestTaps(ow, img.width);
  const ys = nearestTaps(oh, img.height);
  for (let oy = 0; oy < oh; oy++) {
    const row = ys[oy]! * img.width;
    for (let ox = 0; ox < ow; ox++) {
      const s = (row + xs[ox]!) * ch;
      const o = (oy * ow + ox) * ch;
      for (let c = 0; c < ch; c++) data[o + c] = img.data[s + c]!;
    }
  }
  return { width: ow, height: oh, channels: ch, data };
}
