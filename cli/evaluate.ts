/**
 * `lrp-tape evaluate`: faithfulness metrics and sanity checks for several attribution methods on
 * the demo's plain and explanation-guided models (trained once, then cached) over the demo's
 * consistent test set, or on a folder of PNGs (`--images`) with those models or any model
 * `explain` loads (`--model`, `--weights`). Prints a table (metric x method, mean and 95% interval, time per
 * explanation) or, with --json, one JSON object; optionally an HTML report with the curves.
 */
import { basename, extname, resolve } from 'node:path';
import { cachedDemoModels } from '../demo/cached.js';
import { CLASS_NAMES } from '../demo/data.js';
import type { ProgressFactory } from '../demo/run.js';
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import type { Module } from '../nn/index.js';
import { canonize, canonizerFrom, defaultCanonizers } from '../canonizers/index.js';
import {
  BASELINES, EvaluationConfigError, checkMetricNames, evaluateMethods, methodFromName, type Baseline, type Evaluation,
} from '../evaluation/index.js';
import { checkOutputPath, UnsafeOutputError, writeBytesAtomic } from '../node/index.js';
import { CliError } from './errors.js';
import { evaluationHtml, exampleGrid } from './evaluate-report.js';
import { imageTargets, loadImageSet } from './evaluate-images.js';
import { loadModel } from './explain.js';
import { encodePng } from '../image/index.js';

export const DEFAULT_METHODS = ['epsilon_plus_flat', 'gradient', 'random'];
export const DEFAULT_EVAL_METRICS = ['pixel_flipping_morf_auc', 'pixel_flipping_lerf_auc', 'pixel_flipping_gap', 'relevance_mass_accuracy', 'randomisation_spearman_last', 'sparseness'];

export interface EvaluateCliOptions {
  json?: boolean;
  methods: string;
  /** Default: DEFAULT_EVAL_METRICS (relevance_mass_accuracy left out when a folder comes without masks). */
  metrics?: string;
  limit?: string;
  /** Default 'consistent'; the demo's data only. */
  testSet?: string;
  patch: string;
  steps: string;
  baseline: string;
  cache: string;
  html?: string;
  progress: boolean;
  /** A folder of PNGs (or files, a pattern) instead of the demo's test set. */
  images?: string;
  masks?: string;
  model?: string;
  weights?: string;
  weightsPrefix?: string;
  target?: string;
  size?: string;
  preprocess?: string;
  mean?: string;
  std?: string;
}

const list = (s: string): string[] => s.split(',').map((v) => v.trim()).filter(Boolean);

function positiveInt(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new CliError(`--${name} must be a positive integer, got '${v}'`);
  return n;
}

/** {"models": {"plain": {"<method>": {"<metric>": {"mean", "low", "high"}}}, "guided": ...}} */
export function evaluationJson(results: Record<string, Evaluation>): { models: Record<string, Record<string, Record<string, { mean: number; low: number; high: number }>>> } {
  const models: Record<string, Record<string, Record<string, { mean: number; low: number; high: number }>>> = {};
  for (const [model, ev] of Object.entries(results)) {
    models[model] = {};
    for (const [method, m] of Object.entries(ev.methods)) {
      models[model]![method] = Object.fromEntries(Object.entries(m.metrics).map(([k, v]) => [k, { mean: v!.summary.mean, low: v!.summary.low, high: v!.summary.high }]));
    }
  }
  return { models };
}

function table(model: string, ev: Evaluation, out: (l: string) => void): void {
  const methods = Object.keys(ev.methods);
  const w0 = Math.max(...ev.metrics.map((m) => m.length), 'time per explanation'.length) + 2;
  const cell = (s: string) => s.padStart(26);
  out(`${model} model (${ev.images} images; mean [95% interval])`);
  out(`${''.padEnd(w0)}${methods.map(cell).join('')}`);
  for (const metric of ev.metrics) {
    out(`${metric.padEnd(w0)}${methods.map((m) => {
      const s = ev.methods[m]!.metrics[metric]!.summary;
      return cell(`${s.mean.toFixed(3)} [${s.low.toFixed(3)}, ${s.high.toFixed(3)}]`);
    }).join('')}`);
  }
  out(`${'time per explanation'.padEnd(w0)}${methods.map((m) => cell(`${(1000 * ev.methods[m]!.secondsPerExplanation).toFixed(2)} ms`)).join('')}`);
}

/** What is evaluated: one or two models on one set of images. */
interface Setup {
  models: [string, Module][];
  x: Tensor;
  /** Per model: the class explained for each image. */
  targets: Record<string, ArrayLike<number>>;
  masks?: ArrayLike<number>;
  /** For the report's input column. */
  mean: number[];
  std: number[];
  canonizers: string[];
  /** "300 images of the demo's consistent test set" and the like. */
  description: string;
  maskNote: string;
  targetNote: string;
}

const FOLDER_ONLY = ['masks', 'model', 'weights', 'weightsPrefix', 'target', 'size', 'preprocess', 'mean', 'std'] as const;
const flag = (k: string) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

function demoSetup(o: EvaluateCliOptions, limit: number | undefined, io: { stderr: (l: string) => void; progress?: ProgressFactory }): Setup {
  const testSet = o.testSet ?? 'consistent';
  // The demo's training log goes to stderr so that stdout holds only the table or the JSON.
  const demo = cachedDemoModels(resolve(o.cache), { log: io.stderr, progress: io.progress });
  const ds = testSet === 'consistent' ? demo.consistent : demo.randomised;
  const n = Math.min(limit ?? ds.y.length, ds.y.length);
  const per = 3 * ds.size * ds.size;
  const x = new E.Tensor((ds.x.data as Float32Array).slice(0, n * per), [n, 3, ds.size, ds.size]);
  const targets = ds.y.slice(0, n);
  return {
    models: [['plain', demo.plain], ['guided', demo.guided]],
    x,
    targets: { plain: targets, guided: targets },
    masks: ds.objectMask.slice(0, n * ds.size * ds.size),
    mean: [0, 0, 0],
    std: [1, 1, 1],
    canonizers: [],
    description: `${n} images of the demo's ${testSet} test set`,
    maskNote: 'relevance mass accuracy: positive relevance inside the shape (grown by 1 px) / all positive relevance',
    targetNote: 'the true class',
  };
}

function folderSetup(o: EvaluateCliOptions, limit: number | undefined, wantMasks: boolean, io: { stderr: (l: string) => void; progress?: ProgressFactory }): Setup {
  // The demo's images are raw values (zero-mean noise around the objects), not normalised: a PNG in [0, 1] as is.
  const demo = o.model === undefined;
  const set = loadImageSet({ images: o.images!, masks: wantMasks ? o.masks : undefined, size: o.size, preprocess: o.preprocess, mean: o.mean ?? (demo && o.preprocess === undefined ? '0' : undefined), std: o.std ?? (demo && o.preprocess === undefined ? '1' : undefined) });
  const N = set.x.shape[0]!;
  const n = Math.min(limit ?? N, N);
  const [, C, H, W] = set.x.shape as [number, number, number, number];
  const x = n < N ? E.slice(set.x, [[0, n]]) : set.x;
  let models: [string, Module][];
  let classNames: readonly string[] | undefined;
  if (demo) {
    const d = cachedDemoModels(resolve(o.cache), { log: io.stderr, progress: io.progress });
    models = [['plain', d.plain], ['guided', d.guided]];
    classNames = CLASS_NAMES;
  } else {
    const loaded = loadModel({ model: o.model!, weights: o.weights, weightsPrefix: o.weightsPrefix, dtype: 'float32' });
    models = [[basename(o.model!, extname(o.model!)), loaded.model]];
    classNames = loaded.classNames;
  }
  const canonizers = demo ? [] : defaultCanonizers(o.model!);
  const targets: Record<string, ArrayLike<number>> = {};
  for (const [name, model] of models) {
    const view = canonizers.length ? canonize(model, canonizers.map((c) => canonizerFrom(c))) : model;
    targets[name] = imageTargets(view, { ...set, x }, o.target, classNames, demo ? `the demo's ${name} model` : `the model '${o.model}'`);
  }
  const masks = set.masks?.slice(0, n * H * W);
  return {
    models,
    x,
    targets,
    ...(masks ? { masks } : {}),
    mean: set.mean,
    std: set.std,
    canonizers,
    description: `${n} image${n === 1 ? '' : 's'} from '${o.images}' (${W}x${H}, ${C} channels)`,
    maskNote: o.masks !== undefined ? `relevance mass accuracy: positive relevance inside the masks of '${o.masks}' / all positive relevance` : '',
    targetNote: o.target !== undefined ? `class ${o.target}` : 'the class the model predicts',
  };
}

export function evaluateCommand(o: EvaluateCliOptions, io: { stdout: (l: string) => void; stderr: (l: string) => void; progress?: ProgressFactory }): void {
  // Every option is checked before any training or file is touched.
  const methodNames = list(o.methods);
  if (!methodNames.length) throw new CliError('--methods needs at least one method');
  // epsilon_gamma_box needs the input's range, known once the data are loaded: checked with a placeholder here.
  const rangeArgs = (low: number, high: number) => (n: string) => (n === 'epsilon_gamma_box' ? { low, high } : {});
  for (const n of methodNames) methodFromName(n, rangeArgs(0, 1)(n));
  let metrics = checkMetricNames(list(o.metrics ?? DEFAULT_EVAL_METRICS.join(',')));
  if (!metrics.length) throw new CliError('--metrics needs at least one metric');
  const patch = positiveInt('patch', o.patch);
  const steps = positiveInt('steps', o.steps);
  const limit = o.limit === undefined ? undefined : positiveInt('limit', o.limit);
  if (!(BASELINES as readonly string[]).includes(o.baseline)) throw new EvaluationConfigError(`unknown baseline '${o.baseline}' (known: ${BASELINES.join(', ')})`);
  if (o.testSet !== undefined && o.testSet !== 'consistent' && o.testSet !== 'randomised') throw new CliError(`--test-set must be 'consistent' or 'randomised', got '${o.testSet}'`);
  let note = '';
  if (o.images === undefined) {
    const given = FOLDER_ONLY.filter((k) => o[k] !== undefined);
    if (given.length) throw new CliError(`${given.map(flag).join(', ')} need${given.length === 1 ? 's' : ''} --images DIR (the demo's test set comes with its models, targets and masks)`);
  } else {
    if (o.images === '') throw new CliError("--images needs a folder of PNGs, got ''");
    if (o.testSet !== undefined) throw new CliError('--test-set picks one of the demo\'s test sets; with --images the folder is the test set');
    if (o.weights !== undefined && o.model === undefined) throw new CliError('--weights needs --model (a builder such as resnet18, or a model-spec JSON file)');
    if (o.masks === undefined && metrics.includes('relevance_mass_accuracy')) {
      if (o.metrics !== undefined) throw new CliError('relevance_mass_accuracy needs --masks DIR (one black-and-white PNG per image, same base name)');
      metrics = metrics.filter((m) => m !== 'relevance_mass_accuracy');
      note = 'note: no --masks given, so relevance_mass_accuracy is left out';
    }
  }
  if (o.html !== undefined) {
    if (o.html === '') throw new CliError("--html needs a file name, got ''");
    try {
      checkOutputPath(o.html, { inputs: [o.images, o.masks, o.weights, o.model], requireFolder: true });
    } catch (e) {
      if (e instanceof UnsafeOutputError) throw new CliError(`cannot write --html '${o.html}': ${e.reason}`, 'io');
      throw e;
    }
  }
  const setup = o.images === undefined ? demoSetup(o, limit, io) : folderSetup(o, limit, metrics.includes('relevance_mass_accuracy'), io);
  if (note) io.stderr(note);
  const { x } = setup;
  const n = x.shape[0]!;
  let low = Infinity;
  let high = -Infinity;
  for (const v of x.data) {
    low = Math.min(low, v);
    high = Math.max(high, v);
  }
  const methods = methodNames.map((m) => methodFromName(m, rangeArgs(low, high)(m), setup.canonizers));
  const results: Record<string, Evaluation> = {};
  for (const [name, model] of setup.models) {
    let bar: ReturnType<ProgressFactory> | undefined;
    try {
      // A fresh random method per model, so both models see the same random maps.
      results[name] = evaluateMethods(model, { x, targets: setup.targets[name]!, ...(setup.masks ? { masks: setup.masks } : {}) }, methods.map((m) => (m.name === 'random' ? methodFromName('random') : m)), {
        metrics,
        perturbation: { patch, steps, baseline: o.baseline as Baseline },
        onProgress: (done, total, label) => {
          bar ??= io.progress?.(`${name} model`, total);
          bar?.update(done, { step: label });
        },
      });
    } finally {
      bar?.stop();
    }
  }
  if (o.html) {
    // Example heatmaps: the first four images, one column per method (each map normalised on its own).
    const k = Math.min(4, n);
    const xk = E.slice(x, [[0, k]]);
    const examples: Record<string, string> = {};
    for (const [name, model] of setup.models) {
      const tk = Array.from({ length: k }, (_, i) => setup.targets[name]![i]!);
      const columns = [{ title: 'input', maps: null }, ...methods.map((m) => ({ title: m.name, maps: Float32Array.from(E.sum(m.explain(model, xk, tk), [1]).data) }))];
      examples[name] = `data:image/png;base64,${Buffer.from(encodePng(exampleGrid(xk, columns, { mean: setup.mean, std: setup.std }))).toString('base64')}`;
    }
    const html = evaluationHtml(results, { description: setup.description, target: setup.targetNote, patch, steps, baseline: o.baseline, methods: methods.map((m) => m.name), examples });
    writeBytesAtomic(o.html, Buffer.from(html, 'utf8'));
  }
  if (o.json) {
    io.stdout(JSON.stringify(evaluationJson(results)));
    return;
  }
  for (const [name, ev] of Object.entries(results)) {
    table(name, ev, io.stdout);
    io.stdout('');
  }
  const notes = [
    metrics.some((m) => m.startsWith('pixel_flipping')) ? `pixel flipping: ${steps} steps, ${patch}x${patch} patches, '${o.baseline}' baseline, score = softmax probability of ${setup.targetNote}` : '',
    metrics.includes('relevance_mass_accuracy') ? setup.maskNote : '',
    metrics.includes('local_lipschitz_estimate') ? 'local Lipschitz estimate: max over 10 noisy neighbours (noise sd 0.1 x the image range) of ||R(x) - R(x\')|| / ||x - x\'||, relative to max |R(x)|' : '',
  ].filter(Boolean);
  if (notes.length) io.stdout(notes.join('; '));
  if (o.html) io.stdout(`report: ${o.html}`);
}
