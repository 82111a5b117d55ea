/**
 * The embedded demo (`npm run demo`, `lrp-tape demo`): a decoy competes with the real signal; a
 * plain model takes the shortcut, an explanation-guided model (penalty on its LRP relevance inside
 * the decoy region, differentiated through the LRP backward) learns the shapes. Every number in
 * the report is measured in this run; the verdict is computed from them, never assumed.
 */
import { mkdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import * as E from '../engine/index.js';
import { compositeFromSpec, type Composite } from '../composites/index.js';
import { tensorToRaw } from '../nn/index.js';
import { writeSafetensorsFile, writeStateDictFile } from '../node/index.js';
import { CLASS_NAMES, batchOf, decoyMask, demoDataSets, type DataSet } from './data.js';
import { accuracy, decoyShare, relevanceMaps } from './evaluate.js';
import { demoModel, demoModelSpec } from './model.js';
import { heatmapGrid, writeGrid, writeHtml, writeMetrics, type ReportGrid } from './report.js';
import { train, type EpochInfo } from './train.js';
import type { DemoMetrics, ModelMetrics } from './metrics.js';

export type { DemoMetrics, ModelMetrics } from './metrics.js';
import { writeFileAtomic } from './files.js';

export interface Progress {
  update(value: number, payload?: Record<string, string>): void;
  stop(): void;
}
/** Makes a progress display for `total` steps (the CLI passes cli-progress bars; tests pass nothing). */
export type ProgressFactory = (label: string, total: number) => Progress;

export interface DemoOptions {
  /** Composite used for the explanations and the penalty. Default 'epsilon_plus_flat'. */
  composite?: string;
  /** Composite arguments (`epsilon_gamma_box` gets the data's low/high when not given). */
  compositeArgs?: Record<string, unknown>;
  /** Epochs for each model. Default 8. */
  epochs?: number;
  /** Seeds data, initial weights and batch order. Default 0. */
  seed?: number;
  /** Output folder. Default 'demo-out'. */
  out?: string;
  trainSize?: number;
  testSize?: number;
  /** Image side (divisible by 4). Default 24. */
  size?: number;
  /** Weight of the explanation penalty. Default 10. */
  lambda?: number;
  lr?: number;
  batchSize?: number;
  /** Grid rows per test set (spread over the classes). Default 6. */
  examples?: number;
  log?: (line: string) => void;
  progress?: ProgressFactory;
}

const seconds = (t0: number): number => (performance.now() - t0) / 1000;
const pct = (v: number): string => `${(100 * v).toFixed(1)}%`;

function compositeArgsFor(name: string, given: Record<string, unknown>, ds: DataSet): Record<string, unknown> {
  if (name !== 'epsilon_gamma_box' || (given.low !== undefined && given.high !== undefined)) return given;
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of ds.x.data) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return { low: lo, high: hi, ...given };
}

/** Indices of the first `rows` images, cycling through the classes. */
function pickExamples(ds: DataSet, rows: number): number[] {
  const byClass: number[][] = CLASS_NAMES.map(() => []);
  ds.y.forEach((c, i) => byClass[c]!.push(i));
  const out: number[] = [];
  for (let k = 0; out.length < rows && k < ds.y.length; k++) {
    for (const list of byClass) if (out.length < rows && list[k] !== undefined) out.push(list[k]!);
  }
  return out;
}

function verdictOf(plain: ModelMetrics, guided: ModelMetrics, maskFraction: number): DemoMetrics['verdict'] {
  const guidedLowerDecoyShare = guided.decoyShare.consistent < plain.decoyShare.consistent;
  const guidedHigherRandomisedAccuracy = guided.accuracy.randomised > plain.accuracy.randomised;
  // "Leans on the decoy": far more relevance on the patch than its area, and a real accuracy drop without it.
  const plainLeansOnDecoy = plain.decoyShare.consistent > 3 * maskFraction && plain.accuracy.consistent - plain.accuracy.randomised > 0.2;
  const asExpected = plainLeansOnDecoy && guidedLowerDecoyShare && guidedHigherRandomisedAccuracy;
  const parts = [
    `The plain model puts ${pct(plain.decoyShare.consistent)} of its positive relevance on the decoy region (${pct(maskFraction)} of the image); ` +
      `its accuracy is ${pct(plain.accuracy.consistent)} with the shortcut and ${pct(plain.accuracy.randomised)} when the patch colour is randomised (chance 33.3%).`,
    `The guided model puts ${pct(guided.decoyShare.consistent)} there; its accuracy is ${pct(guided.accuracy.consistent)} and ${pct(guided.accuracy.randomised)}.`,
  ];
  if (asExpected && guided.accuracy.randomised >= 0.8) {
    parts.push('As expected: the plain model took the shortcut, the explanation penalty moved the guided model onto the shapes.');
  } else if (asExpected) {
    parts.push(
      `In the expected direction: the plain model took the shortcut and the guided model does not rely on it, but the guided model has not learned the shapes well yet (${pct(guided.accuracy.randomised)} on the randomised set); more epochs help.`,
    );
  }
  else {
    const why: string[] = [];
    if (!plainLeansOnDecoy) why.push('the plain model does not clearly lean on the decoy');
    if (!guidedLowerDecoyShare) why.push('the guided model does not put less relevance on the decoy');
    if (!guidedHigherRandomisedAccuracy) why.push('the guided model is not more accurate on the randomised set');
    parts.push(`Not the expected story in this run: ${why.join('; ')}. (Try more epochs, another seed or another lambda; the numbers above are what this run measured.)`);
  }
  return { guidedLowerDecoyShare, guidedHigherRandomisedAccuracy, plainLeansOnDecoy, asExpected, summary: parts.join(' ') };
}

export function runDemo(opts: DemoOptions = {}): DemoMetrics {
  const tStart = performance.now();
  const log = opts.log ?? (() => {});
  const compositeName = opts.composite ?? 'epsilon_plus_flat';
  const epochs = opts.epochs ?? 8;
  const seed = opts.seed ?? 0;
  const out = resolve(opts.out ?? 'demo-out');
  const trainSize = opts.trainSize ?? 1200;
  const testSize = opts.testSize ?? 300;
  const size = opts.size ?? 24;
  const lambda = opts.lambda ?? 10;
  const lr = opts.lr ?? 3e-3;
  const batchSize = opts.batchSize ?? 32;
  const rows = opts.examples ?? 6;
  const patch = 4;
  const maskMargin = 1;
  const noise = 0.15;
  for (const [k, v] of Object.entries({ epochs, trainSize, testSize, batchSize, size })) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`demo: ${k} must be a positive integer, got ${v}`);
  }
  if (!Number.isInteger(seed)) throw new RangeError(`demo: seed must be an integer, got ${seed}`);
  if (!(lambda >= 0) || !(lr > 0)) throw new RangeError(`demo: lambda must be >= 0 and lr > 0, got ${lambda} and ${lr}`);
  // Validate the composite name before any work.
  compositeFromSpec({ name: compositeName, args: opts.compositeArgs ?? {}, canonizers: [] } as never).name;

  mkdirSync(out, { recursive: true });

  // ---- data ------------------------------------------------------------------------------------
  let t0 = performance.now();
  const dataOpts = { size, patch, patchOffset: 1, noise };
  const { rng, train: trainSet, consistent: testConsistent, randomised: testRandom } = demoDataSets(seed, { trainSize, testSize }, dataOpts);
  const mask = decoyMask(dataOpts, maskMargin);
  const maskFraction = mask.reduce((a, b) => a + b, 0) / mask.length;
  const dataSeconds = seconds(t0);
  const compositeArgs = compositeArgsFor(compositeName, opts.compositeArgs ?? {}, trainSet);
  const composite: Composite = compositeFromSpec({ name: compositeName, args: compositeArgs, canonizers: [] } as never);
  log(`data: ${trainSize} training images, 2 x ${testSize} test images of 3x${size}x${size} (${dataSeconds.toFixed(1)} s)`);

  const initSeed = Math.floor(rng.uniform() * 2 ** 31);
  const orderSeed = Math.floor(rng.uniform() * 2 ** 31);

  // ---- training ------------------------------------------------------------------------------
  const trainOne = (label: string, lam: number) => {
    const model = demoModel(size, new E.Rng(initSeed)); // same initial weights for both models
    const steps = Math.ceil(trainSize / batchSize);
    const bar = opts.progress?.(`${label} (${epochs} epochs)`, epochs * steps);
    const t = performance.now();
    let history: EpochInfo[];
    try {
      history = train(model, trainSet, {
        epochs,
        batchSize,
        lr,
        lambda: lam,
        composite,
        mask,
        rng: new E.Rng(orderSeed),
        onStep: (s) =>
          bar?.update(s.epoch * steps + s.step, {
            epoch: `${s.epoch + 1}/${epochs}`,
            loss: s.loss.toFixed(3),
            acc: pct(s.accuracy),
            penalty: lam > 0 ? s.penalty.toFixed(3) : '-',
          }),
        onEpoch: (e) => {
          if (!bar) log(`  ${label} epoch ${e.epoch + 1}/${epochs}: loss ${e.loss.toFixed(3)}${lam > 0 ? ` penalty ${e.penalty.toFixed(3)}` : ''} train acc ${pct(e.accuracy)} (${e.seconds.toFixed(1)} s)`);
        },
      });
    } finally {
      bar?.stop();
    }
    const trainSeconds = seconds(t);
    log(`${label}: trained in ${trainSeconds.toFixed(1)} s (${(trainSeconds / epochs).toFixed(2)} s/epoch)`);
    return { model, history, trainSeconds };
  };

  const plainRun = trainOne('plain model', 0);
  const guidedRun = trainOne(`guided model (lambda ${lambda})`, lambda);

  // ---- evaluation ----------------------------------------------------------------------------
  t0 = performance.now();
  const measure = (r: typeof plainRun): ModelMetrics => ({
    accuracy: { consistent: accuracy(r.model, testConsistent), randomised: accuracy(r.model, testRandom) },
    decoyShare: { consistent: decoyShare(r.model, testConsistent, mask, composite), randomised: decoyShare(r.model, testRandom, mask, composite) },
    trainSeconds: r.trainSeconds,
    secondsPerEpoch: r.trainSeconds / epochs,
    history: r.history,
  });
  const plain = measure(plainRun);
  const guided = measure(guidedRun);
  const evaluationSeconds = seconds(t0);

  // ---- report --------------------------------------------------------------------------------
  t0 = performance.now();
  const grids: ReportGrid[] = [];
  for (const [name, ds, caption] of [
    ['grid-consistent.png', testConsistent, 'Consistent test set (patch colour = class)'],
    ['grid-randomised.png', testRandom, 'Randomised test set (patch colour independent of the class)'],
  ] as const) {
    const idx = pickExamples(ds, rows);
    const per = 3 * size * size;
    const x = new Float32Array(idx.length * per);
    idx.forEach((i, k) => x.set((ds.x.data as Float32Array).subarray(i * per, (i + 1) * per), k * per));
    const y = Int32Array.from(idx, (i) => ds.y[i]!);
    const xt = new E.Tensor(x, [idx.length, 3, size, size]);
    const img = heatmapGrid(x, idx.length, size, [
      { title: 'input', maps: null },
      { title: 'plain', maps: relevanceMaps(plainRun.model, xt, y, composite) },
      { title: 'guided', maps: relevanceMaps(guidedRun.model, xt, y, composite) },
    ]);
    writeGrid(join(out, name), img);
    const labels = idx.map((i) => `${CLASS_NAMES[ds.y[i]!]}${ds.patchClass[i] !== ds.y[i] ? ` (patch says ${CLASS_NAMES[ds.patchClass[i]!]})` : ''}`);
    grids.push({ file: name, caption, rows: labels, columns: ['input', 'plain model', 'guided model'] });
  }
  // The trained models and one test image, for `lrp-tape explain`.
  writeFileAtomic(join(out, 'model.json'), `${JSON.stringify(demoModelSpec(size), null, 2)}\n`);
  writeStateDictFile(join(out, 'plain.safetensors'), plainRun.model, { demo: 'plain' });
  writeStateDictFile(join(out, 'guided.safetensors'), guidedRun.model, { demo: 'guided', lambda: String(lambda), composite: compositeName });
  const sample = batchOf(testRandom, 0, 1);
  writeSafetensorsFile(join(out, 'sample.safetensors'), new Map([['input', tensorToRaw(sample.x)]]), {
    label: CLASS_NAMES[sample.y[0]!]!,
    patch: CLASS_NAMES[testRandom.patchClass[0]!]!,
  });

  // Paths as the user would type them: relative to the working directory when inside it.
  const rel = (f: string): string => {
    const r = relative(process.cwd(), join(out, f));
    return r && !r.startsWith('..') ? r : join(out, f);
  };
  const metrics: DemoMetrics = {
    generated: new Date().toISOString(),
    settings: {
      composite: compositeName,
      compositeArgs,
      epochs,
      seed,
      trainSize,
      testSize,
      size,
      patch,
      maskMargin,
      noise,
      lambda,
      lr,
      batchSize,
      penalty: 'mean over the batch of sum(|R| in decoy region) / sum(|R|), R = channel-summed relevance of the true class',
    },
    data: { classes: [...CLASS_NAMES], maskFraction, chanceAccuracy: 1 / 3 },
    plain,
    guided,
    timings: { dataSeconds, plainTrainSeconds: plain.trainSeconds, guidedTrainSeconds: guided.trainSeconds, evaluationSeconds, reportSeconds: 0, totalSeconds: 0 },
    verdict: verdictOf(plain, guided, maskFraction),
    files: {
      report: rel('index.html'),
      metrics: rel('metrics.json'),
      grids: grids.map((g) => rel(g.file)),
      modelSpec: rel('model.json'),
      plainWeights: rel('plain.safetensors'),
      guidedWeights: rel('guided.safetensors'),
      sampleInput: rel('sample.safetensors'),
    },
  };
  metrics.timings.reportSeconds = seconds(t0);
  metrics.timings.totalSeconds = seconds(tStart);
  writeMetrics(out, metrics);
  writeHtml(out, metrics, grids);
  return metrics;
}
