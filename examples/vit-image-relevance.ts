/**
 * A ViT explained on images with AttnLRP, heatmaps over patches and over pixels:
 *
 *   node --import tsx examples/vit-image-relevance.ts [out-dir]          (default out-dir: vit-image-out)
 *   VIT_EXAMPLE_EPOCHS=30 node --import tsx examples/vit-image-relevance.ts   (a longer training)
 *
 * A small timm-style ViT (8x8 images, 2x2 patches, width 32, one block of 4 heads, average pooling)
 * is trained for a few seconds on the UCI handwritten digits shipped in teach/data/, so the
 * heatmaps explain a model that reads digits rather than random weights. Then, for a few held-out
 * digits, the relevance of the predicted class (seed: its logit) is computed with `attnlrp`:
 * - per pixel: the relevance at the input image;
 * - per patch: the relevance arriving at the patch embedding's output (what the transformer
 *   blocks hand back to each patch token, summed over the width), before the patch convolution's
 *   bias takes its share;
 * and written as PNGs (input, patch heatmap, pixel heatmap per row; red: for the class, blue: against).
 * The relevance ledger says where the rest of the logit went: the position embedding and the class
 * token are parameters, so what reaches them stops there, and biases and stabilisers absorb some.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import { VisionTransformer } from '../models/index.js';
import { Adam } from '../nn/index.js';
import { attnLrp } from '../composites/index.js';
import { recordForward, oneHotSeed } from '../attribution/index.js';
import { relevanceAt, relevanceLedger } from '../diagnostics/index.js';
import { encodePng, grid, heatmap, resize, type Image } from '../image/index.js';
import { writeBytesAtomic } from '../node/index.js';
import { gather, parseDigits, split, type Digits } from '../teach/digits.js';

const DIGITS = new URL('../teach/data/digits.safetensors', import.meta.url);
const PATCH = 2;
/** Screen pixels per image pixel in the PNGs. */
const SCALE = 16;

export interface VitImageOptions {
  /** Training epochs over the 1437 training digits. Default 6 (a few seconds). */
  epochs?: number;
  /** Held-out digits to explain. Default 6. */
  count?: number;
  /** Folder for the PNGs. */
  out: string;
  log?: (line: string) => void;
}

export interface ExplainedDigit {
  label: number;
  predicted: number;
  /** The seed: the predicted class's logit. */
  logit: number;
  /** Sum of the pixel relevance. */
  pixels: number;
  /** Sum of the patch relevance (relevance at the patch embedding's output). */
  patches: number;
  /** seed - pixels - (what the ledger says was absorbed): relevance lost outside every recorded layer. */
  unaccounted: number;
  /** What reached the class token and the position embedding (parameters: it stops there). */
  tokens: number;
  /** Absorbed by biases. */
  bias: number;
  /** Absorbed by AttnLRP's softmax rule, which is not conservative (its -s * sum(R) term). */
  softmax: number;
  /** Absorbed by the rules' stabilisers. */
  stabilizer: number;
}

export interface VitImageResult {
  heldOutAccuracy: number;
  trainSeconds: number;
  digits: ExplainedDigit[];
  /** Per explained digit, [H/PATCH, W/PATCH] patch relevance and [H, W] pixel relevance. */
  patchMaps: Float32Array[];
  pixelMaps: Float32Array[];
  files: string[];
}

/** timm initialises the class token and the position embedding with std 0.02 (our zeros would make every token alike). */
function timmInit(vit: VisionTransformer, rng: E.Rng): void {
  for (const name of ['cls_token', 'pos_embed']) {
    const p = vit.getParameter(name)!;
    const r = E.randn(p.shape, { rng });
    for (let i = 0; i < p.data.length; i++) p.data[i] = 0.02 * r.data[i]!;
  }
}

export function digitVit(rng: E.Rng): VisionTransformer {
  const vit = new VisionTransformer({ imgSize: [8, 8], patchSize: PATCH, inChans: 1, embedDim: 32, depth: 1, numHeads: 4, numClasses: 10, globalPool: 'avg', rng });
  timmInit(vit, rng);
  return vit;
}

function accuracyOf(model: VisionTransformer, d: Digits): number {
  const pred = E.argmax(E.noGrad(() => model.call(d.x)), 1).data;
  let ok = 0;
  for (let i = 0; i < d.y.length; i++) if (pred[i] === d.y[i]) ok++;
  return ok / d.y.length;
}

function trainDigits(model: VisionTransformer, digits: Digits, trainIdx: readonly number[], epochs: number, rng: E.Rng): void {
  const optimizer = new Adam(model, { lr: 1e-2 });
  model.train();
  for (let epoch = 0; epoch < epochs; epoch++) {
    const order = [...trainIdx];
    for (let i = order.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    for (let s = 0; s < order.length; s += 32) {
      const b = gather(digits, order.slice(s, s + 32));
      optimizer.zeroGrad();
      E.backward(E.crossEntropy(model.call(b.x), b.y));
      optimizer.step();
    }
  }
  model.eval();
}

/** A [H, W] plane scaled up with nearest neighbours, as an RGB image. */
function big(img: Image): Image {
  return resize(img, { width: 8 * SCALE, height: 8 * SCALE, method: 'nearest' });
}

function grey(plane: ArrayLike<number>, side: number): Image {
  const data = new Uint8Array(side * side * 3);
  for (let i = 0; i < side * side; i++) data.fill(Math.round(255 * Math.min(1, Math.max(0, plane[i]!))), 3 * i, 3 * i + 3);
  return { width: side, height: side, channels: 3, data };
}

function sum(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s;
}

export function run(o: VitImageOptions): VitImageResult {
  const log = o.log ?? (() => {});
  const digits = parseDigits(new Uint8Array(readFileSync(DIGITS)));
  const { train, heldOut } = split(digits.y.length);
  const rng = new E.Rng(0);
  const model = digitVit(rng);
  const t0 = performance.now();
  trainDigits(model, digits, train, o.epochs ?? 6, rng);
  const trainSeconds = (performance.now() - t0) / 1000;
  const heldOutAccuracy = accuracyOf(model, gather(digits, heldOut));
  log(`ViT (8x8 digits, 2x2 patches, width 32, 1 block of 4 heads), ${o.epochs ?? 6} epochs in ${trainSeconds.toFixed(1)} s: held-out accuracy ${(100 * heldOutAccuracy).toFixed(1)}% (${heldOut.length} digits)`);

  const batch = gather(digits, heldOut.slice(0, o.count ?? 6));
  const n = batch.y.length;
  const composite = attnLrp();
  const rec = recordForward(model, batch.x);
  const predicted = Array.from(E.argmax(rec.output, 1).data as ArrayLike<number>);
  // Seed = the predicted logit, so the relevance is in logit units and the ledger's totals are comparable.
  const seed = (out: Tensor): Tensor => E.mul(out.detach(), oneHotSeed(out, predicted));
  const pixelsT = rec.attribute(seed, { composite }).relevance;
  const patchesT = relevanceAt(rec, seed, composite, ['patch_embed.proj']).get('patch_embed.proj')!;
  const patchSum = E.sum(patchesT, [1]); // [n, 4, 4]
  const g = 8 / PATCH;
  const digitsOut: ExplainedDigit[] = [];
  const patchMaps: Float32Array[] = [];
  const pixelMaps: Float32Array[] = [];
  const rows: Image[] = [];
  log('relevance of the predicted logit (one row per held-out digit): where it goes');
  log('digit  predicted   logit   pixels  patches  biases  softmax rule  cls token + pos. emb.  stabilisers  unaccounted');
  for (let i = 0; i < n; i++) {
    // One ledger per image: its totals are per explanation.
    const one = gather(digits, [heldOut[i]!]);
    const ledger = relevanceLedger(recordForward(model, one.x), (out) => E.mul(out.detach(), oneHotSeed(out, [predicted[i]!])), composite);
    const pixelMap = Float32Array.from(pixelsT.data.subarray(i * 64, (i + 1) * 64));
    const patchMap = Float32Array.from(patchSum.data.subarray(i * g * g, (i + 1) * g * g));
    pixelMaps.push(pixelMap);
    patchMaps.push(patchMap);
    const t = ledger.totals;
    const d: ExplainedDigit = {
      label: batch.y[i]!,
      predicted: predicted[i]!,
      logit: rec.output.data[i * 10 + predicted[i]!]!,
      pixels: sum(pixelMap),
      patches: sum(patchMap),
      unaccounted: t.unaccounted,
      // The position embedding is added (op:add: detached); the class token is concatenated, and the
      // ledger counts relevance a concat hands to a parameter as the concat's gradient rest.
      tokens: t.detached + t.gradient,
      bias: t.bias,
      softmax: t.rule,
      stabilizer: t.stabilizer,
    };
    digitsOut.push(d);
    log(
      `${String(d.label).padStart(5)}  ${String(d.predicted).padStart(9)}  ${d.logit.toFixed(3).padStart(6)}  ${d.pixels.toFixed(3).padStart(7)}  ${d.patches.toFixed(3).padStart(7)}` +
        `  ${d.bias.toFixed(3).padStart(6)}  ${d.softmax.toFixed(3).padStart(12)}  ${d.tokens.toFixed(3).padStart(20)}  ${d.stabilizer.toExponential(1).padStart(11)}  ${d.unaccounted.toExponential(1).padStart(11)}`,
    );
    const input = Float32Array.from(batch.x.data.subarray(i * 64, (i + 1) * 64));
    rows.push(big(grey(input, 8)), big(heatmap({ data: patchMap, shape: [g, g] })), big(heatmap({ data: pixelMap, shape: [8, 8] })));
  }
  mkdirSync(o.out, { recursive: true });
  const files: string[] = [];
  const write = (name: string, img: Image): void => {
    const path = join(o.out, name);
    writeBytesAtomic(path, encodePng(img));
    files.push(path);
  };
  write('vit-digits-grid.png', grid(rows, { cols: 3, padding: 4, margin: 4 }));
  write('vit-digit-0-patches.png', rows[1]!);
  write('vit-digit-0-pixels.png', rows[2]!);
  log(`wrote ${files.join(', ')} (rows: input, patch relevance, pixel relevance)`);
  return { heldOutAccuracy, trainSeconds, digits: digitsOut, patchMaps, pixelMaps, files };
}

if (process.argv[1]?.endsWith('vit-image-relevance.ts')) {
  run({ out: process.argv[2] ?? 'vit-image-out', epochs: Number(process.env.VIT_EXAMPLE_EPOCHS ?? 6), log: (l) => console.log(l) });
}
