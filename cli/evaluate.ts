/**
 * `lrp-tape evaluate`: faithfulness metrics and sanity checks for several attribution methods on
 * the demo's plain and explanation-guided models (trained once, then cached), over the demo's
 * consistent test set. Prints a table (metric x method, mean and 95% interval, time per
 * explanation) or, with --json, one JSON object; optionally an HTML report with the curves.
 */
import { resolve } from 'node:path';
import { cachedDemoModels } from '../demo/cached.js';
import type { ProgressFactory } from '../demo/run.js';
import * as E from '../engine/index.js';
import {
  BASELINES, EvaluationConfigError, checkMetricNames, evaluateMethods, methodFromName, type Baseline, type Evaluation,
} from '../evaluation/index.js';
import { writeBytesAtomic } from '../node/index.js';
import { CliError } from './errors.js';
import { evaluationHtml } from './evaluate-report.js';
import { heatmapGrid } from '../demo/report.js';
import { encodePng } from '../image/index.js';

export const DEFAULT_METHODS = ['epsilon_plus_flat', 'gradient', 'random'];
export const DEFAULT_EVAL_METRICS = ['pixel_flipping_morf_auc', 'pixel_flipping_lerf_auc', 'pixel_flipping_gap', 'relevance_mass_accuracy', 'randomisation_spearman_last', 'sparseness'];

export interface EvaluateCliOptions {
  json?: boolean;
  methods: string;
  metrics: string;
  images?: string;
  testSet: string;
  patch: string;
  steps: string;
  baseline: string;
  cache: string;
  html?: string;
  progress: boolean;
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

export function evaluateCommand(o: EvaluateCliOptions, io: { stdout: (l: string) => void; stderr: (l: string) => void; progress?: ProgressFactory }): void {
  // Every option is checked before any training or file is touched.
  const methodNames = list(o.methods);
  if (!methodNames.length) throw new CliError('--methods needs at least one method');
  // epsilon_gamma_box needs the input's range, known once the data are loaded: checked with a placeholder here.
  const rangeArgs = (low: number, high: number) => (n: string) => (n === 'epsilon_gamma_box' ? { low, high } : {});
  for (const n of methodNames) methodFromName(n, rangeArgs(0, 1)(n));
  const metrics = checkMetricNames(list(o.metrics));
  if (!metrics.length) throw new CliError('--metrics needs at least one metric');
  const patch = positiveInt('patch', o.patch);
  const steps = positiveInt('steps', o.steps);
  const limit = o.images === undefined ? undefined : positiveInt('images', o.images);
  if (!(BASELINES as readonly string[]).includes(o.baseline)) throw new EvaluationConfigError(`unknown baseline '${o.baseline}' (known: ${BASELINES.join(', ')})`);
  if (o.testSet !== 'consistent' && o.testSet !== 'randomised') throw new CliError(`--test-set must be 'consistent' or 'randomised', got '${o.testSet}'`);
  // The demo's training log goes to stderr so that stdout holds only the table or the JSON.
  const demo = cachedDemoModels(resolve(o.cache), { log: io.stderr, progress: io.progress });
  const ds = o.testSet === 'consistent' ? demo.consistent : demo.randomised;
  const n = Math.min(limit ?? ds.y.length, ds.y.length);
  const per = 3 * ds.size * ds.size;
  const x = new E.Tensor((ds.x.data as Float32Array).slice(0, n * per), [n, 3, ds.size, ds.size]);
  const data = { x, targets: ds.y.slice(0, n), masks: ds.objectMask.slice(0, n * ds.size * ds.size) };
  let low = Infinity;
  let high = -Infinity;
  for (const v of x.data) {
    low = Math.min(low, v);
    high = Math.max(high, v);
  }
  const methods = methodNames.map((m) => methodFromName(m, rangeArgs(low, high)(m)));
  const results: Record<string, Evaluation> = {};
  for (const [name, model] of [['plain', demo.plain], ['guided', demo.guided]] as const) {
    let bar: ReturnType<ProgressFactory> | undefined;
    try {
      results[name] = evaluateMethods(model, data, methods.map((m) => (m.name === 'random' ? methodFromName('random') : m)), {
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
    const xk = new E.Tensor((x.data as Float32Array).slice(0, k * per), [k, 3, ds.size, ds.size]);
    const tk = ds.y.slice(0, k);
    const examples: Record<string, string> = {};
    for (const [name, model] of [['plain', demo.plain], ['guided', demo.guided]] as const) {
      const columns = [{ title: 'input', maps: null }, ...methods.map((m) => ({ title: m.name, maps: Float32Array.from(E.sum(m.explain(model, xk, tk), [1]).data) }))];
      examples[name] = `data:image/png;base64,${Buffer.from(encodePng(heatmapGrid(xk.data as Float32Array, k, ds.size, columns))).toString('base64')}`;
    }
    const html = evaluationHtml(results, { images: n, testSet: o.testSet, patch, steps, baseline: o.baseline, methods: methods.map((m) => m.name), examples });
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
  io.stdout(`pixel flipping: ${steps} steps, ${patch}x${patch} patches, '${o.baseline}' baseline, score = softmax probability of the true class; relevance mass accuracy: positive relevance inside the shape (grown by 1 px) / all positive relevance`);
  if (o.html) io.stdout(`report: ${o.html}`);
}
