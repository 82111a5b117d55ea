/** Between model-ready float tensors (CHW) and 8-bit RGB images. */
import { resampleBilinear } from './resize.js';
import { checkImage, checkShapedArray, ImageError, type Image, type ShapedArray } from './types.js';

/** torchvision's ImageNet statistics, the usual `mean`/`std` for pretrained models. */
export const IMAGENET_MEAN: readonly [number, number, number] = [0.485, 0.456, 0.406];
export const IMAGENET_STD: readonly [number, number, number] = [0.229, 0.224, 0.225];

/** One value per channel; a single value is used for all three. */
function perChannel(v: readonly number[] | undefined, fallback: number, what: string): [number, number, number] {
  if (v === undefined) return [fallback, fallback, fallback];
  if (v.length === 1) return [v[0]!, v[0]!, v[0]!];
  if (v.length !== 3) throw new ImageError(`${what} needs 1 or 3 values, got ${v.length}`);
  if (v.some((x) => !Number.isFinite(x))) throw new ImageError(`${what} must be finite, got [${v.join(', ')}]`);
  return [v[0]!, v[1]!, v[2]!];
}

export interface UnnormalizeOptions {
  /** The mean that was subtracted when the tensor was made; added back. Default 0. */
  mean?: readonly number[];
  /** The std that was divided by; multiplied back. Default 1. */
  std?: readonly number[];
}

/**
 * A float image tensor `[3,H,W]` (also `[1,3,H,W]`, or one channel `[1,H,W]`/`[H,W]` shown as
 * grey) in [0, 1] after un-normalisation (x * std + mean) -> RGB. Values outside [0, 1] clip;
 * NaN becomes 0.
 */
export function tensorDataToImage(t: ShapedArray, opts: UnnormalizeOptions = {}): Image {
  const { channels, height, width } = checkShapedArray(t, 'image tensor');
  if (channels !== 1 && channels !== 3) {
    throw new ImageError(`image tensor needs 1 or 3 channels, got shape [${t.shape.join(', ')}]`);
  }
  const mean = perChannel(opts.mean, 0, 'mean');
  const std = perChannel(opts.std, 1, 'std');
  const hw = width * height;
  const data = new Uint8Array(hw * 3);
  for (let c = 0; c < 3; c++) {
    const plane = (channels === 3 ? c : 0) * hw;
    for (let p = 0; p < hw; p++) {
      const v = t.data[plane + p]! * std[c]! + mean[c]!;
      data[p * 3 + c] = v > 0 ? Math.round(Math.min(v, 1) * 255) : 0;
    }
  }
  return { width, height, channels: 3, data };
}

export interface ToTensorOptions {
  /** Output `[h, w]`; resized bilinearly (pixel-centre aligned) when it differs. Default: unchanged. */
  size?: readonly [number, number];
  /** Subtracted after scaling to [0, 1]. Default 0. */
  mean?: readonly number[];
  /** Divided by after subtracting the mean. Default 1. */
  std?: readonly number[];
}

/**
 * An RGB(A) image -> Float32Array in CHW order, shape `[3, h, w]`: resize, /255, then
 * (x - mean) / std -- torchvision's Resize/ToTensor/Normalize. Alpha is ignored (as PIL's
 * convert('RGB') does) so tensors match what a Python pipeline would feed the same model.
 * Resizing happens in float, without rounding back to 8 bit in between.
 */
export function imageToTensorData(img: Image, opts: ToTensorOptions = {}): Float32Array {
  checkImage(img);
  const [oh, ow] = opts.size ?? [img.height, img.width];
  if (!Number.isInteger(oh) || !Number.isInteger(ow) || oh < 0 || ow < 0) {
    throw new ImageError(`size must be [h, w] non-negative integers, got [${opts.size?.join(', ')}]`);
  }
  const mean = perChannel(opts.mean, 0, 'mean');
  const std = perChannel(opts.std, 1, 'std');
  if (std.some((s) => s === 0)) throw new ImageError(`std must not contain 0, got [${std.join(', ')}]`);
  const ch = img.channels;
  const src: ArrayLike<number> =
    ow === img.width && oh === img.height ? img.data : resampleBilinear(img.data, img.width, img.height, ch, ow, oh);
  const hw = ow * oh;
  const out = new Float32Array(3 * hw);
  for (let c = 0; c < 3; c++) {
    const m = mean[c]!;
    const s = std[c]!;
    for (let p = 0; p < hw; p++) out[c * hw + p] = (src[p * ch + c]! / 255 - m) / s;
  }
  return out;
}
