/**
 * Loading VGG-16's weights from a safetensors file (issue 19, item 4): time and peak memory of
 * `readStateDictFile` + `model.loadStateDict`, against the machine's yardsticks (reading the file
 * into memory, one memcpy of it), and the peak memory of one VGG-16 LRP explanation after loading.
 *
 *   node --import tsx bench/load-weights.ts [--file PATH] [--runs N] [--dtype float32|float64]
 *        [--method copy|assign|file] [--init random|empty] [--explain] [--json]
 *
 * `--init empty` builds the model without drawing its random initial weights (`vgg16({init: 'empty'})`),
 * as the CLI does before loading.
 *
 * The file (random torchvision-initialised VGG-16 weights, 553 MB) is written with the project's own
 * writer on first use; it belongs in /tmp and is never committed. Every run is a fresh child process,
 * so `maxRSS` is that run's peak; medians over the runs are printed.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as E from '../engine/index.js';
import { vgg16 } from '../models/index.js';
import type { Module } from '../nn/index.js';
import * as N from '../node/index.js';
import { epsilonGammaBox } from '../composites/index.js';
import { recordForward, oneHotSeed } from '../attribution/index.js';
import { median } from './timing.js';

const MB = 1024 * 1024;
const DEFAULT_FILE = '/tmp/lrp-tape-vgg16.safetensors';

interface Args {
  file: string;
  runs: number;
  dtype: 'float32' | 'float64';
  method: 'copy' | 'assign' | 'file';
  init: 'random' | 'empty';
  explain: boolean;
  json: boolean;
  child: 'load' | 'yardstick' | null;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { file: DEFAULT_FILE, runs: 3, dtype: 'float32', method: 'copy', init: 'random', explain: false, json: false, child: null };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    const v = (): string => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${k} needs a value`);
      return x;
    };
    if (k === '--file') a.file = v();
    else if (k === '--runs') a.runs = Math.max(1, Number.parseInt(v(), 10));
    else if (k === '--dtype') a.dtype = v() === 'float64' ? 'float64' : 'float32';
    else if (k === '--method') a.method = v() as Args['method'];
    else if (k === '--init') a.init = v() as Args['init'];
    else if (k === '--explain') a.explain = true;
    else if (k === '--json') a.json = true;
    else if (k === '--child') a.child = v() as Args['child'];
    else if (k === '--help' || k === '-h') {
      console.log('usage: node --import tsx bench/load-weights.ts [--file PATH] [--runs N] [--dtype float32|float64] [--method copy|assign|file] [--init random|empty] [--explain] [--json]');
      process.exit(0);
    } else throw new Error(`unknown option ${k}`);
  }
  if (!['copy', 'assign', 'file'].includes(a.method)) throw new Error(`--method must be copy, assign or file, got ${a.method}`);
  if (!['random', 'empty'].includes(a.init)) throw new Error(`--init must be random or empty, got ${a.init}`);
  return a;
}

/**
 * Peak RSS since the last `resetPeak()`: Linux's VmHWM, which writing 5 to clear_refs resets, so the
 * model's construction (its random initialisation peaks above the load) does not hide the load's
 * peak. Elsewhere the process's maxRSS (then every peak includes the construction).
 */
let hwmResettable = false;
function resetPeak(): void {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    hwmResettable = true;
  } catch {
    hwmResettable = false;
  }
}
function peakMb(): number {
  if (hwmResettable) {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) / 1024;
  }
  return process.resourceUsage().maxRSS / 1024;
}
const rssMb = (): number => process.memoryUsage().rss / MB;
const ms = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;

function ensureFile(path: string): void {
  if (existsSync(path)) return;
  process.stderr.write(`writing random VGG-16 weights to ${path} ...\n`);
  N.writeStateDictFile(path, vgg16({ rng: new E.Rng(16) }));
}

/** What the machine does without us: the file into memory, and one copy of it. */
function yardstick(path: string): Record<string, number> {
  let t0 = process.hrtime.bigint();
  const bytes = readFileSync(path);
  const readMs = ms(t0);
  t0 = process.hrtime.bigint();
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  const memcpyMs = ms(t0);
  return { read_ms: readMs, memcpy_ms: memcpyMs, checksum: copy[copy.length - 1]! };
}

type LoadApi = typeof N & {
  loadStateDictFile?: (m: Module, path: string, opts?: object) => unknown;
};

function loadRun(a: Args): Record<string, unknown> {
  const model = vgg16({ rng: new E.Rng(16), dtype: a.dtype, init: a.init });
  model.eval();
  const paramBytes = model.parameters().reduce((s, p) => s + p.data.byteLength, 0);
  globalThis.gc?.();
  const rssModel = rssMb();
  resetPeak();
  const t0 = process.hrtime.bigint();
  let readMs: number;
  if (a.method === 'file') {
    const api = N as LoadApi;
    if (!api.loadStateDictFile) throw new Error('this version has no loadStateDictFile');
    api.loadStateDictFile(model, a.file);
    readMs = Number.NaN;
  } else {
    const sd = N.readStateDictFile(a.file);
    readMs = ms(t0);
    (model.loadStateDict as (d: Map<string, E.Tensor>, o?: object) => unknown)(sd, a.method === 'assign' ? { assign: true } : {});
  }
  const totalMs = ms(t0);
  const out: Record<string, unknown> = {
    total_ms: totalMs,
    read_ms: readMs,
    load_ms: totalMs - readMs,
    mb_per_s: statSync(a.file).size / MB / (totalMs / 1000),
    param_mb: paramBytes / MB,
    rss_model_mb: rssModel,
    peak_is_since_build: hwmResettable ? 1 : 0,
    peak_load_mb: peakMb(),
  };
  if (a.explain) {
    globalThis.gc?.();
    out.rss_before_explain_mb = rssMb();
    resetPeak();
    const x = E.randn([1, 3, 224, 224], { dtype: a.dtype, rng: new E.Rng(224) });
    const t1 = process.hrtime.bigint();
    const rec = recordForward(model, x);
    const cls = Array.from(E.argmax(rec.output, 1).data as ArrayLike<number>);
    const res = rec.attribute(oneHotSeed(rec.output, cls), { composite: epsilonGammaBox({ low: -3, high: 3 }) });
    out.explain_ms = ms(t1);
    // What the backward needs: the input and every layer's output, which the recording keeps.
    const seen = new Set<unknown>([x.data]);
    let actBytes = x.data.byteLength;
    for (const l of rec.recording.layers) {
      if (seen.has(l.output.data)) continue;
      seen.add(l.output.data);
      actBytes += l.output.data.byteLength;
    }
    out.activations_mb = actBytes / MB;
    out.relevance_sum = E.sum(res.relevance).item();
    out.peak_explain_mb = peakMb();
  }
  out.max_rss_process_mb = process.resourceUsage().maxRSS / 1024;
  return out;
}

function child(a: Args, mode: 'load' | 'yardstick'): Record<string, unknown> {
  const argv = [
    '--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url),
    '--child', mode, '--file', a.file, '--dtype', a.dtype, '--method', a.method, '--init', a.init, ...(a.explain ? ['--explain'] : []),
  ];
  const stdout = execFileSync(process.execPath, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 });
  return JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>;
}

function main(): void {
  const a = parseArgs(process.argv.slice(2));
  if (a.child) {
    const r = a.child === 'yardstick' ? yardstick(a.file) : loadRun(a);
    process.stdout.write(`${JSON.stringify(r)}\n`);
    return;
  }
  ensureFile(a.file);
  const sizeMb = statSync(a.file).size / MB;
  const runs: Record<string, unknown>[] = [];
  const yard: Record<string, unknown>[] = [];
  for (let i = 0; i < a.runs; i++) {
    yard.push(child(a, 'yardstick'));
    runs.push(child(a, 'load'));
    process.stderr.write(`run ${i + 1}/${a.runs}: ${JSON.stringify(runs[i])}\n`);
  }
  const med = (rows: Record<string, unknown>[], k: string): number => median(rows.map((r) => Number(r[k])));
  const keys = Object.keys(runs[0]!).filter((k) => typeof runs[0]![k] === 'number');
  const summary: Record<string, unknown> = { file: a.file, file_mb: sizeMb, dtype: a.dtype, method: a.method, init: a.init, runs: a.runs };
  for (const k of keys) summary[k] = med(runs, k);
  summary.yardstick_read_ms = med(yard, 'read_ms');
  summary.yardstick_memcpy_ms = med(yard, 'memcpy_ms');
  summary.samples_total_ms = runs.map((r) => r.total_ms);
  if (a.json) {
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    return;
  }
  for (const [k, v] of Object.entries(summary)) console.log(`${k.padEnd(24)} ${typeof v === 'number' ? v.toFixed(1) : JSON.stringify(v)}`);
}

main();
