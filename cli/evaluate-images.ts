/**
 * `lrp-tape evaluate --images DIR`: a folder of PNGs (or JPEGs) as the evaluation set, preprocessed
 * as `explain` does, with optional ground-truth masks (one PNG per image, same base name) and the
 * target classes from `--target` or the model's predictions.
 */
import { existsSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import type { Forward } from '../attribution/index.js';
import { predict } from '../evaluation/index.js';
import { readImage } from '../node/index.js';
import { ImageError } from '../image/index.js';
import { expandInputs } from './batch.js';
import { LrpTapeError } from '../engine/errors.js';
import { CliError } from './errors.js';
import { loadInput } from './explain.js';
import { resolveTarget } from './predictions.js';

export interface ImageSetOptions {
  images: string;
  masks?: string;
  size?: string;
  preprocess?: string;
  mean?: string;
  std?: string;
}

export interface ImageSet {
  /** [N, 3, H, W] float32, preprocessed. */
  x: Tensor;
  files: string[];
  /** [N, H, W] 0/1, when a mask folder was given. */
  masks?: Uint8Array;
  /** What was subtracted and divided by (to show the inputs again). */
  mean: number[];
  std: number[];
}

const three = (v: number[]): number[] => (v.length === 1 ? [v[0]!, v[0]!, v[0]!] : v);

/** Reads and preprocesses every image; all must come out one size. Masks are read and checked here too, before any model runs. */
export function loadImageSet(o: ImageSetOptions): ImageSet {
  const { files } = expandInputs([o.images]);
  const loaded = files.map((f) => {
    if (!/\.(png|jpe?g)$/i.test(f) && existsSync(f)) throw new CliError(`'${f}' is not a PNG or JPEG file (evaluate --images takes images only)`, 'data');
    const input = loadInput({ input: f, size: o.size, preprocess: o.preprocess, mean: o.mean, std: o.std, dtype: 'float32' });
    if (!input.image) throw new CliError(`'${f}' is not a PNG or JPEG image (evaluate --images takes images only)`, 'data');
    return input;
  });
  const first = loaded[0]!;
  const [, , H, W] = first.x.shape as [number, number, number, number];
  loaded.forEach((l, i) => {
    const [, , h, w] = l.x.shape as [number, number, number, number];
    if (h !== H || w !== W) {
      throw new CliError(`the images must come out one size: '${files[0]}' is ${W}x${H}, '${files[i]}' is ${w}x${h}; give --size HxW or --preprocess imagenet`, 'data');
    }
  });
  const x = E.concat(loaded.map((l) => l.x), 0);
  const set: ImageSet = { x, files, mean: three(first.mean ?? [0]), std: three(first.std ?? [1]) };
  if (o.masks !== undefined) set.masks = loadMasks(o.masks, files, H, W);
  return set;
}

/** One mask PNG per image (same base name) of the size the model sees: black (0) outside, white (255) inside. */
function loadMasks(dir: string, files: readonly string[], H: number, W: number): Uint8Array {
  const out = new Uint8Array(files.length * H * W);
  files.forEach((f, i) => {
    const path = join(dir, `${basename(f, extname(f))}.png`);
    if (!existsSync(path)) throw new CliError(`no mask for image '${f}': expected '${path}'`, 'io');
    let img;
    try {
      img = readImage(path);
    } catch (e) {
      if (e instanceof ImageError) throw new CliError(`mask ${e.message}`, 'data');
      throw e;
    }
    if (img.width !== W || img.height !== H) {
      throw new CliError(`mask '${path}' is ${img.width}x${img.height}; the images are ${W}x${H} as the model sees them (after --size or --preprocess)`, 'data');
    }
    // The first channel decides (grey and black/white RGB masks have equal channels).
    for (let p = 0; p < H * W; p++) {
      const v = img.data[p * img.channels]!;
      if (v !== 0 && v !== 255) {
        throw new CliError(`mask '${path}' holds ${v} at row ${Math.floor(p / W)}, column ${p % W}: a mask must be black (0) outside and white (255) inside`, 'data');
      }
      out[i * H * W + p] = v === 255 ? 1 : 0;
    }
  });
  return out;
}

/**
 * The class to explain per image: `--target` for all, or each image's top prediction. A model the
 * images do not fit is one error naming the image size.
 */
export function imageTargets(model: Forward, set: ImageSet, target: string | undefined, classNames: readonly string[] | undefined, what: string): Int32Array {
  let out: Tensor;
  const n = set.x.shape[0]!;
  try {
    // In chunks, so a large model on many images does not hold every activation at once.
    const parts: Tensor[] = [];
    for (let s = 0; s < n; s += 16) parts.push(predict(model, E.slice(set.x, [[s, Math.min(n, s + 16)]])));
    out = E.concat(parts, 0);
  } catch (e) {
    if (!(e instanceof LrpTapeError) || e.category === 'internal') throw e;
    const [, C, H, W] = set.x.shape;
    const first = e.message.split('\n')[0]!;
    const hint = /channel/.test(first) ? 'images are read as RGB (3 channels)' : 'resize them with --size HxW or --preprocess imagenet';
    throw new CliError(`the images (${W}x${H}, ${C} channels, from '${set.files[0]}') do not fit ${what}: ${first}; ${hint}`, 'data');
  }
  if (out.ndim !== 2) throw new CliError(`${what} outputs shape [${out.shape.join(', ')}]; evaluate needs [N, classes]`, 'data');
  const [N, K] = out.shape as [number, number];
  if (target !== undefined) {
    if (target.trim() === '') throw new CliError(`--target must be a class index or name, got ''`);
    return new Int32Array(N).fill(resolveTarget(target, K, classNames && classNames.length === K ? classNames : undefined));
  }
  return Int32Array.from(E.argmax(out, 1).data as ArrayLike<number>);
}
