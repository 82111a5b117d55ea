/**
 * The demo's classifier: a small CNN given as a model spec (../shared/fixtures/FORMAT.md), so the
 * demo can save it next to its weights and `lrp-tape explain --model model.json --weights ...`
 * explains the trained models with the CLI.
 */
import type { Rng } from '../engine/index.js';
import { buildFromSpec, type ModelSpec } from '../models/index.js';
import type { Module } from '../nn/index.js';

/** conv(3->8) relu pool, conv(8->16) relu pool, flatten, linear(->32) relu, linear(->3). */
export function demoModelSpec(size: number, classes = 3): ModelSpec {
  if (size % 4 !== 0) throw new RangeError(`the demo model needs an image size divisible by 4, got ${size}`);
  const flat = 16 * (size / 4) * (size / 4);
  const conv = (i: number, o: number) => ({ type: 'Conv2d', in_channels: i, out_channels: o, kernel_size: [3, 3], stride: 1, padding: 1 });
  return {
    type: 'Sequential',
    children: [
      ['0', conv(3, 8)],
      ['1', { type: 'ReLU' }],
      ['2', { type: 'MaxPool2d', kernel_size: 2, stride: 2 }],
      ['3', conv(8, 16)],
      ['4', { type: 'ReLU' }],
      ['5', { type: 'MaxPool2d', kernel_size: 2, stride: 2 }],
      ['6', { type: 'Flatten', start_dim: 1 }],
      ['7', { type: 'Linear', in_features: flat, out_features: 32 }],
      ['8', { type: 'ReLU' }],
      ['9', { type: 'Linear', in_features: 32, out_features: classes }],
    ],
  };
}

/** A fresh model (PyTorch's default initialisation from `rng`), float32. */
export function demoModel(size: number, rng: Rng): Module {
  return buildFromSpec(demoModelSpec(size), { rng });
}
