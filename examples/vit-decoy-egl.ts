/**
 * Does a ViT take the shortcut, and does explanation-guided training make it leave it?
 *
 *   node --import tsx examples/vit-decoy-egl.ts                  (a few seconds: 300 images, 3 epochs)
 *   VIT_EGL_LONG=1 node --import tsx examples/vit-decoy-egl.ts   (600 images, 10 epochs, width 32)
 *
 * The demo's decoy data (demo/data.ts: a shape outline decides the class; a colour patch in the
 * top-left corner gives the class away in training) and the demo's training loop (demo/train.ts),
 * with a small timm-style ViT instead of the CNN: 24x24 images in 6x6 patches (the decoy and its
 * one-pixel margin fill part of the first patch, which no shape ever enters), average pooling.
 * Two models from the same initialisation and batch order: cross-entropy alone, and cross-entropy
 * plus lambda times the share of |AttnLRP relevance| inside the decoy region, differentiated through
 * the AttnLRP backward w.r.t. the weights (softmax, layer norm and matmul rules included).
 * Printed: accuracy on the consistent test set (patch = class) and on the randomised one (patch
 * colour drawn independently: a model that reads the patch falls to chance, 33%), and the share of
 * positive relevance on the decoy region (demo/evaluate.ts's metric) against the region's area.
 */
import * as E from '../engine/index.js';
import { VisionTransformer } from '../models/index.js';
import { attnLrp } from '../composites/index.js';
import { decoyMask, demoDataSets } from '../demo/data.js';
import { accuracy, decoyShare } from '../demo/evaluate.js';
import { train } from '../demo/train.js';

export interface VitEglOptions {
  trainSize: number;
  testSize: number;
  epochs: number;
  embedDim: number;
  depth: number;
  lr: number;
  lambda: number;
  log?: (line: string) => void;
}

export const QUICK: VitEglOptions = { trainSize: 300, testSize: 150, epochs: 3, embedDim: 24, depth: 1, lr: 1e-2, lambda: 10 };
export const LONG: VitEglOptions = { trainSize: 600, testSize: 300, epochs: 10, embedDim: 32, depth: 1, lr: 5e-3, lambda: 10 };

export interface VitEglModelMetrics {
  accuracy: { consistent: number; randomised: number };
  decoyShare: { consistent: number; randomised: number };
  /** Mean explanation penalty (share of |R| on the decoy) over the last epoch; 0 for the plain model, which is not penalised. */
  lastPenalty: number;
  trainSeconds: number;
}

export interface VitEglResult {
  /** Area of the decoy region / image area. */
  maskFraction: number;
  plain: VitEglModelMetrics;
  guided: VitEglModelMetrics;
}

const SIZE = 24;
const PATCH = 6;

function decoyVit(o: VitEglOptions): VisionTransformer {
  const rng = new E.Rng(1);
  const vit = new VisionTransformer({ imgSize: [SIZE, SIZE], patchSize: PATCH, embedDim: o.embedDim, depth: o.depth, numHeads: 4, numClasses: 3, globalPool: 'avg', rng });
  // timm's std-0.02 class token and position embedding (all-zero ones would make the tokens alike).
  for (const name of ['cls_token', 'pos_embed']) {
    const p = vit.getParameter(name)!;
    const r = E.randn(p.shape, { rng });
    for (let i = 0; i < p.data.length; i++) p.data[i] = 0.02 * r.data[i]!;
  }
  return vit;
}

const pct = (v: number): string => `${(100 * v).toFixed(1)}%`;

export function run(o: VitEglOptions = QUICK): VitEglResult {
  const log = o.log ?? (() => {});
  const { train: trainSet, consistent, randomised } = demoDataSets(0, { trainSize: o.trainSize, testSize: o.testSize }, { size: SIZE });
  const mask = decoyMask({ size: SIZE });
  const maskFraction = mask.reduce((a, v) => a + v, 0) / mask.length;
  const composite = attnLrp();
  log(`ViT on the demo's decoy data: ${SIZE}x${SIZE} images, ${PATCH}x${PATCH} patches, width ${o.embedDim}, ${o.depth} block(s) x 4 heads; ${o.trainSize} training images, ${o.epochs} epochs; the decoy region is ${pct(maskFraction)} of the image`);
  const trainOne = (lambda: number): VitEglModelMetrics => {
    const model = decoyVit(o);
    const t0 = performance.now();
    const history = train(model, trainSet, { epochs: o.epochs, batchSize: 32, lr: o.lr, lambda, composite, mask, rng: new E.Rng(2) });
    const trainSeconds = (performance.now() - t0) / 1000;
    return {
      accuracy: { consistent: accuracy(model, consistent), randomised: accuracy(model, randomised) },
      decoyShare: { consistent: decoyShare(model, consistent, mask, composite), randomised: decoyShare(model, randomised, mask, composite) },
      lastPenalty: history.at(-1)!.penalty,
      trainSeconds,
    };
  };
  const plain = trainOne(0);
  const guided = trainOne(o.lambda);
  log('model                       accuracy: consistent  randomised   decoy share: consistent  randomised   training');
  for (const [name, m] of [['plain (cross-entropy)', plain], [`guided (lambda ${o.lambda}, attnlrp)`, guided]] as const) {
    log(`${name.padEnd(28)}${pct(m.accuracy.consistent).padStart(20)}${pct(m.accuracy.randomised).padStart(12)}${pct(m.decoyShare.consistent).padStart(26)}${pct(m.decoyShare.randomised).padStart(12)}${`${m.trainSeconds.toFixed(1)} s`.padStart(11)}`);
  }
  const shortcut = plain.decoyShare.consistent > 3 * maskFraction && plain.accuracy.consistent - plain.accuracy.randomised > 0.2;
  log(
    shortcut
      ? `The plain ViT takes the shortcut: ${pct(plain.decoyShare.consistent)} of its positive relevance on ${pct(maskFraction)} of the image, and chance-level accuracy (${pct(plain.accuracy.randomised)}) once the patch colour is random.`
      : `The plain ViT does not clearly take the shortcut here (decoy share ${pct(plain.decoyShare.consistent)}, randomised accuracy ${pct(plain.accuracy.randomised)}).`,
  );
  const gap = (m: VitEglModelMetrics): string => `${(100 * (m.accuracy.consistent - m.accuracy.randomised)).toFixed(1)} points`;
  log(
    `The guided ViT puts ${pct(guided.decoyShare.consistent)} there; its accuracy is ${pct(guided.accuracy.consistent)} with the patch and ${pct(guided.accuracy.randomised)} without it. ` +
      `Accuracy lost when the patch lies: plain ${gap(plain)}, guided ${gap(guided)}.`,
  );
  return { maskFraction, plain, guided };
}

if (process.argv[1]?.endsWith('vit-decoy-egl.ts')) run({ ...(process.env.VIT_EGL_LONG ? LONG : QUICK), log: (l) => console.log(l) });
