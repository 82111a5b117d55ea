/**
 * The page's data and model, shared by the browser page, the training script and the specs: the
 * UCI handwritten digits (8x8 counts 0-16, scaled to [0, 1]) and a small CNN with a batch norm, so
 * the canonizer panel has something to merge.
 */
import { engine, models, nn } from '../index.js';
import { parseSafetensors } from '../engine/safetensors.js';

export const IMAGE_SIZE = 8;
/** Held-out digits: the last HOLDOUT of a seeded shuffle. */
export const HOLDOUT = 360;
export const SPLIT_SEED = 13;
/** Accuracy the shipped weights reach on the held-out digits (spec/teach/model.spec.ts checks it). */
export const STATED_HELDOUT_ACCURACY = 0.95;

export interface Digits {
  /** [N, 1, 8, 8] float32 in [0, 1]. */
  x: engine.Tensor;
  y: Int32Array;
}

/** conv(1->8) BN ReLU, conv(8->16) ReLU, maxpool 2, flatten, linear(256->32) ReLU, linear(32->10). */
export function digitModelSpec(): models.ModelSpec {
  const conv = (i: number, o: number) => ({ type: 'Conv2d', in_channels: i, out_channels: o, kernel_size: [3, 3], stride: 1, padding: 1 });
  return {
    type: 'Sequential',
    children: [
      ['conv1', conv(1, 8)],
      ['bn1', { type: 'BatchNorm2d', num_features: 8 }],
      ['relu1', { type: 'ReLU' }],
      ['conv2', conv(8, 16)],
      ['relu2', { type: 'ReLU' }],
      ['pool', { type: 'MaxPool2d', kernel_size: 2, stride: 2 }],
      ['flatten', { type: 'Flatten', start_dim: 1 }],
      ['fc1', { type: 'Linear', in_features: 16 * 4 * 4, out_features: 32 }],
      ['relu3', { type: 'ReLU' }],
      ['fc2', { type: 'Linear', in_features: 32, out_features: 10 }],
    ],
  };
}

export function digitModel(rng?: engine.Rng): nn.Module {
  return models.buildFromSpec(digitModelSpec(), rng ? { rng } : {});
}

/** A model with the shipped weights, in evaluation mode. */
export function loadDigitModel(weights: Uint8Array): nn.Module {
  const model = digitModel();
  model.loadStateDict(nn.loadSafetensorsStateDict(weights, { source: 'digit-cnn.safetensors' }));
  model.eval();
  return model;
}

/** All 1797 digits from the safetensors bytes (`images` U8 [N, 8, 8], `labels` U8 [N]). */
export function parseDigits(bytes: Uint8Array): Digits {
  const file = parseSafetensors(bytes, 'digits.safetensors');
  const images = file.tensors.get('images');
  const labels = file.tensors.get('labels');
  if (!images || !labels) throw new Error("digits.safetensors: expected tensors 'images' and 'labels'");
  const n = images.shape[0]!;
  const src = images.data as Uint8Array;
  const x = new Float32Array(n * 64);
  for (let i = 0; i < x.length; i++) x[i] = src[i]! / 16;
  return { x: new engine.Tensor(x, [n, 1, IMAGE_SIZE, IMAGE_SIZE]), y: Int32Array.from(labels.data as Uint8Array) };
}

/** Indices of a seeded shuffle: the first N - HOLDOUT train, the rest are held out. */
export function split(n: number): { train: number[]; heldOut: number[] } {
  const rng = new engine.Rng(SPLIT_SEED);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return { train: order.slice(0, n - HOLDOUT), heldOut: order.slice(n - HOLDOUT) };
}

export function gather(d: Digits, idx: readonly number[]): Digits {
  const x = new Float32Array(idx.length * 64);
  const src = d.x.data as Float32Array;
  idx.forEach((k, i) => x.set(src.subarray(k * 64, k * 64 + 64), i * 64));
  return { x: new engine.Tensor(x, [idx.length, 1, IMAGE_SIZE, IMAGE_SIZE]), y: Int32Array.from(idx, (k) => d.y[k]!) };
}

export function accuracy(model: nn.Module, d: Digits): number {
  const out = engine.noGrad(() => model.call(d.x));
  const pred = engine.argmax(out, 1).data;
  let ok = 0;
  for (let i = 0; i < d.y.length; i++) if (pred[i] === d.y[i]) ok++;
  return ok / d.y.length;
}

/**
 * A 32x32 ink bitmap (1 = ink) as the digits were made: the ink count of each 4x4 block (0-16),
 * scaled to [0, 1]. Returns null for a blank bitmap (nothing to explain).
 */
export function bitmapToInput(ink: ArrayLike<number>): Float32Array | null {
  if (ink.length !== 32 * 32) throw new RangeError(`a drawing is a 32x32 bitmap, got ${ink.length} pixels`);
  const x = new Float32Array(64);
  let total = 0;
  for (let r = 0; r < 32; r++) for (let c = 0; c < 32; c++) if (ink[r * 32 + c]! >= 0.5) x[(r >> 2) * 8 + (c >> 2)]! += 1;
  for (let i = 0; i < 64; i++) {
    total += x[i]!;
    x[i] = x[i]! / 16;
  }
  return total === 0 ? null : x;
}
