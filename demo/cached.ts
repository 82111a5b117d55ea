/**
 * The demo's two trained models for `lrp-tape evaluate`: trained once with the demo's defaults
 * (exactly `runDemo`, so the folder also holds the demo's report), then loaded from the folder's
 * weights on later runs as long as its metrics.json records the same settings.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as E from '../engine/index.js';
import type { Module } from '../nn/index.js';
import { readStateDictFile } from '../node/index.js';
import { decoyMask, demoDataSets, type DataSet } from './data.js';
import { demoModel } from './model.js';
import { runDemo, type DemoMetrics, type ProgressFactory } from './run.js';

export interface CachedDemo {
  plain: Module;
  guided: Module;
  settings: DemoMetrics['settings'];
  /** The demo's consistent and randomised test sets (the same images `runDemo` scored). */
  consistent: DataSet;
  randomised: DataSet;
  /** The decoy region the guided model was penalised in. */
  decoyMask: Float32Array;
  /** Whether the models were trained in this call. */
  trained: boolean;
}

/** The settings `runDemo` uses by default, which the cache must match. */
const DEFAULTS = { composite: 'epsilon_plus_flat', epochs: 8, seed: 0, trainSize: 1200, testSize: 300, size: 24, lambda: 10, lr: 3e-3, batchSize: 32 };

function cachedSettings(dir: string): DemoMetrics['settings'] | null {
  const files = ['metrics.json', 'plain.safetensors', 'guided.safetensors'].map((f) => join(dir, f));
  if (!files.every((f) => existsSync(f))) return null;
  try {
    const s = (JSON.parse(readFileSync(files[0]!, 'utf8')) as DemoMetrics).settings;
    return Object.entries(DEFAULTS).every(([k, v]) => (s as unknown as Record<string, unknown>)[k] === v) ? s : null;
  } catch {
    return null;
  }
}

export function cachedDemoModels(dir: string, opts: { log?: (line: string) => void; progress?: ProgressFactory } = {}): CachedDemo {
  let settings = cachedSettings(dir);
  const trained = settings === null;
  if (!settings) {
    opts.log?.(`training the demo's models once (cached in ${dir})`);
    settings = runDemo({ out: dir, log: opts.log, progress: opts.progress }).settings;
  }
  const load = (name: string): Module => {
    const m = demoModel(settings.size, new E.Rng(0));
    m.loadStateDict(readStateDictFile(join(dir, `${name}.safetensors`)));
    return m.eval();
  };
  const dataOpts = { size: settings.size, patch: settings.patch, patchOffset: 1, noise: settings.noise };
  const sets = demoDataSets(settings.seed, settings, dataOpts);
  return {
    plain: load('plain'),
    guided: load('guided'),
    settings,
    consistent: sets.consistent,
    randomised: sets.randomised,
    decoyMask: decoyMask(dataOpts, settings.maskMargin),
    trained,
  };
}
