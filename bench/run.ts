/**
 * The benchmark suite: every workload of workloads.ts timed in its own process, with the yardsticks of
 * yardsticks.ts (PyTorch + zennit, TensorFlow.js, oneDNN) beside our numbers.
 *
 *   npm run bench                                   all workloads, one child process each, a table
 *   npm run bench -- --quick                        fewer runs, no raw-kernel side numbers
 *   npm run --silent bench -- --only NAME --json    one workload, ONE JSON line on stdout
 *   npm run bench -- --list                         the workload names
 *
 * Options: --only NAME (repeatable or comma-separated), --runs N, --warmup N, --threads N,
 * --kernels ts|wasm (sets LRP_TAPE_KERNELS before the engine loads), --frozen (parameters do not
 * require grad in the gradient / LRP workloads), --json (JSON lines instead of the table),
 * --markdown (the table as Markdown), --no-tfjs (skip TensorFlow.js even when installed),
 * --gc-between-runs (a full, untimed collection before every run; by default runs follow each
 * other like a loop over inputs, see bench/timing.ts).
 *
 * Nothing of the engine is imported statically: --kernels must reach the environment first.
 */
import { spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { YARDSTICKS, MILESTONES, CORE_PEAK_GFLOPS, milestoneMet } from './yardsticks.js';
import { tfjsAvailable as installedTfjs, type TfjsWorkload } from './tfjs.js';
import { phaseBreakdown, breakdownNote, type Breakdown } from './breakdown.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');

export interface BenchResult {
  name: string;
  median_ms: number;
  min_ms: number;
  max_ms: number;
  /** null where a FLOP rate is not meaningful (LRP workloads). */
  gflops: number | null;
  peak_rss_mb: number;
  /** --threads as given; without it, the engine's default thread count. */
  threads: number;
  /** Threads the engine really used (1 until it has worker threads). */
  threads_used: number;
  runs: number;
  warmup: number;
  /** 'ts' | 'wasm' for lrp-tape; 'tfjs-cpu' | 'tfjs-wasm' for the TensorFlow.js side runs. */
  kernels: string;
  /** The engine's WebAssembly module ('simd' or 'relaxed-simd'; null: none, or a TensorFlow.js run). */
  wasm_variant?: string | null;
  [extra: string]: unknown;
}

interface Args {
  only: string[];
  runs?: number;
  warmup?: number;
  threads?: number;
  kernels?: string;
  quick: boolean;
  frozen: boolean;
  json: boolean;
  markdown: boolean;
  list: boolean;
  tfjs: boolean;
  progress: boolean;
  gcBetweenRuns: boolean;
  help: boolean;
}

class UsageError extends Error {}

function parseArgs(argv: readonly string[]): Args {
  const a: Args = { only: [], quick: false, frozen: false, json: false, markdown: false, list: false, tfjs: true, progress: false, gcBetweenRuns: false, help: false };
  const num = (flag: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (v === undefined || !Number.isInteger(n) || n < min) throw new UsageError(`${flag} needs an integer >= ${min}, got ${v ?? 'nothing'}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string | undefined => inline ?? argv[++i];
    switch (flag) {
      case '--only':
        a.only.push(...(value() ?? '').split(',').map((s) => s.trim()).filter(Boolean));
        break;
      case '--runs': a.runs = num('--runs', value(), 1); break;
      case '--warmup': a.warmup = num('--warmup', value(), 0); break;
      case '--threads': a.threads = num('--threads', value(), 1); break;
      case '--kernels': {
        const k = value();
        if (k !== 'ts' && k !== 'wasm') throw new UsageError(`--kernels is ts or wasm, got ${k ?? 'nothing'}`);
        a.kernels = k;
        break;
      }
      case '--quick': a.quick = true; break;
      case '--frozen': a.frozen = true; break;
      case '--json': a.json = true; break;
      case '--markdown': a.markdown = true; break;
      case '--list': a.list = true; break;
      case '--no-tfjs': a.tfjs = false; break;
      case '--progress': a.progress = true; break;
      case '--gc-between-runs': a.gcBetweenRuns = true; break;
      case '-h':
      case '--help': a.help = true; break;
      default: throw new UsageError(`unknown option ${arg} (see npm run bench -- --help)`);
    }
  }
  return a;
}

const HELP = `npm run bench [-- options]
  --only NAME[,NAME]  run these workloads only (in this process); see --list
  --json              JSON lines (one per workload) instead of the table
  --runs N            timed runs (default per workload: 5, heavy ones fewer; see bench/README.md)
  --warmup N          untimed runs before timing (default 1-2)
  --quick             fewer runs, no raw-kernel side numbers
  --threads N         kernel threads (passed to the engine's setKernelThreads when it has one; recorded either way)
  --kernels ts|wasm   kernel set (sets LRP_TAPE_KERNELS before the engine loads)
  --frozen            parameters do not require grad in gradient / LRP workloads
  --markdown          print the table as Markdown
  --no-tfjs           skip the TensorFlow.js side runs even when installed
  --gc-between-runs   a full, untimed garbage collection before every run (default: steady state,
                      each run collects the previous runs' garbage as V8 decides)
  --list              print the workload names`;

const r1 = (x: number): number => Math.round(x * 10) / 10;
const r3 = (x: number): number => Math.round(x * 1000) / 1000;

/** Runs named workloads in this process; yields one result each. */
async function runInProcess(names: readonly string[], a: Args, emit: (r: BenchResult) => void): Promise<void> {
  const { configureBackend } = await import('./backend.js');
  const { WORKLOADS, findWorkload } = await import('./workloads.js');
  const { tfjsWorkloads } = await import('./tfjs.js');
  const { timeRuns, peakRssMb, gcAvailable } = await import('./timing.js');
  const backend = await configureBackend({ kernels: a.kernels, threads: a.threads });
  const wasmVariant = (await import('../engine/kernels/status.js')).kernelStatus().wasmVariant;
  // `threads` records --threads; without it, what the engine uses by default.
  const threads = a.threads ?? backend.threadsUsed;
  const log = (line: string): void => {
    if (a.progress || !a.json) process.stderr.write(line + '\n');
  };
  for (const name of names) {
    let w = findWorkload(name);
    let tw: TfjsWorkload | undefined;
    if (!w && name.startsWith('tfjs-')) {
      tw = (await tfjsWorkloads({ threads: a.threads ?? cpus().length })).find((t) => t.name === name);
      if (!tw) throw new UsageError(`${name}: TensorFlow.js (@tensorflow/tfjs or tfjs-core, and tfjs-backend-${name.split('-')[1]}) is not installed`);
      w = tw;
    }
    if (!w) throw new UsageError(`unknown workload '${name}'; known: ${WORKLOADS.map((x) => x.name).join(', ')}`);
    const planned = a.runs ?? (a.quick ? w.quickRuns : w.runs);
    const warmup = a.warmup ?? (a.quick ? w.quickWarmup ?? w.warmup : w.warmup);
    const t0 = process.hrtime.bigint();
    const prepared = await w.setup({ runs: planned, frozen: a.frozen, quick: a.quick, log });
    const setupMs = Number(process.hrtime.bigint() - t0) / 1e6;
    const t = timeRuns(prepared.run, {
      warmup,
      runs: planned,
      budgetMs: a.runs === undefined ? w.budgetMs : undefined,
      gcBetweenRuns: a.gcBetweenRuns,
      onRun: (phase, i, ms) => log(`  ${name} ${phase === 'warmup' ? 'warm-up' : 'run'} ${i + 1}${phase === 'warmup' ? `/${warmup}` : ''}: ${ms.toFixed(1)} ms`),
    });
    const runs = t.samples.length;
    // tfjs reports its backend and threads once set up.
    const kernels = tw ? tw.kernels : backend.kernels;
    const threadsUsed = tw ? tw.threadsUsed() : backend.threadsUsed;
    const threadsNote = tw ? tw.threadsNote() : backend.threadsSource;
    const gflops = prepared.flops !== undefined ? prepared.flops / t.median / 1e6 : null;
    const peakRss = peakRssMb();
    let breakdown: Breakdown | null = null;
    if (w.breakdown) {
      log(`  ${name} breakdown: one run by phase, then one with the second backward's op timers ...`);
      breakdown = await phaseBreakdown(prepared);
    }
    const result: BenchResult = {
      name,
      median_ms: r3(t.median),
      min_ms: r3(t.min),
      max_ms: r3(t.max),
      gflops: gflops === null ? null : r3(gflops),
      peak_rss_mb: r1(peakRss),
      threads,
      threads_used: threadsUsed,
      runs,
      warmup,
      kernels,
      planned_runs: planned,
      kernels_source: name.startsWith('tfjs-') ? 'tfjs' : backend.kernelsSource,
      wasm_variant: name.startsWith('tfjs-') ? null : wasmVariant,
      threads_note: threadsNote,
      frozen: a.frozen,
      gc_between_runs: a.gcBetweenRuns && gcAvailable,
      flops: prepared.flops ?? null,
      flops_note: prepared.flopsNote ?? null,
      samples_ms: t.samples.map(r3),
      setup_ms: r1(setupMs),
      ...prepared.extra,
      ...(breakdown ? { breakdown } : {}),
    };
    for (const y of YARDSTICKS[name] ?? []) result[`vs_${y.label.replace(/[^a-z0-9]+/gi, '_').toLowerCase()}`] = r3(t.median / y.ms);
    emit(result);
  }
}

/** All workloads, each in a fresh child process (so peak RSS and JIT state are per workload). */
function runChildren(names: readonly string[], a: Args): BenchResult[] {
  const results: BenchResult[] = [];
  for (const name of names) {
    // WebAssembly feature flags (node --experimental-wasm-relaxed-simd npm run bench) reach every workload's process.
    const wasmFlags = process.execArgv.filter((f) => f.startsWith('--experimental-wasm-'));
    const args = [...wasmFlags, '--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url), '--only', name, '--json', '--progress'];
    if (a.runs !== undefined) args.push('--runs', String(a.runs));
    if (a.warmup !== undefined) args.push('--warmup', String(a.warmup));
    if (a.threads !== undefined) args.push('--threads', String(a.threads));
    if (a.kernels !== undefined) args.push('--kernels', a.kernels);
    if (a.quick) args.push('--quick');
    if (a.frozen) args.push('--frozen');
    if (a.gcBetweenRuns) args.push('--gc-between-runs');
    process.stderr.write(`${name} ...\n`);
    const t0 = Date.now();
    const child = spawnSync(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 16 << 20 });
    const lines = (child.stdout ?? '').trim().split('\n');
    const last = lines[lines.length - 1] ?? '';
    try {
      const r = JSON.parse(last) as BenchResult;
      results.push(r);
      if (a.json) console.log(JSON.stringify(r));
      process.stderr.write(`${name}: median ${r.median_ms.toFixed(1)} ms (${((Date.now() - t0) / 1000).toFixed(0)} s with setup and warm-up)\n`);
    } catch {
      process.stderr.write(`${name}: FAILED (exit ${child.status ?? child.signal})\n${child.stdout ?? ''}\n`);
      process.exitCode = 1;
    }
  }
  return results;
}

function fmt(x: number | null | undefined, digits = 1): string {
  return x === null || x === undefined ? '-' : x.toFixed(digits);
}

function table(results: readonly BenchResult[], markdown: boolean): string {
  const head = ['workload', 'kernels', 'median ms', 'min ms', 'max ms', 'GFLOP/s', 'peak RSS MB', 'runs', 'yardstick / milestone'];
  const rows: string[][] = results.map((r) => {
    const notes: string[] = [];
    // A yardstick or milestone of a given thread count is compared with runs at that count only.
    for (const y of YARDSTICKS[r.name] ?? []) {
      if (y.threads > 0 && y.threads !== r.threads) continue;
      notes.push(`${(r.median_ms / y.ms).toFixed(2)}x ${y.label} (${y.ms} ms)`);
    }
    for (const m of MILESTONES[r.name] ?? []) {
      if (m.kernels && m.kernels !== r.kernels) continue;
      if (m.threads !== undefined && m.threads !== r.threads) continue;
      notes.push(`${milestoneMet(m, r) ? 'MET' : 'not met'}: ${m.label}`);
    }
    // Pixel flipping's comparison is an estimate (bench/workloads.ts says how it is made), so the table names it one.
    const quantus = r.quantusEstimateMs;
    if (typeof quantus === 'number') notes.push(`${(r.median_ms / quantus).toFixed(2)}x Quantus on PyTorch, estimated (${quantus} ms: one forward per step; not measured)`);
    const tf = /^tfjs-(cpu|wasm)-(resnet18-(?:forward|gradient))$/.exec(r.name);
    const ours = tf ? results.find((o) => o.name === tf[2]) : undefined;
    if (r.breakdown) notes.push(breakdownNote(r.breakdown as Breakdown));
    if (ours) notes.push(`lrp-tape ${ours.name} (${ours.kernels}) ${ours.median_ms.toFixed(0)} ms = ${(ours.median_ms / r.median_ms).toFixed(2)}x this`);
    if (r.gflops !== null && r.gflops !== undefined) notes.unshift(`${((100 * r.gflops) / CORE_PEAK_GFLOPS).toFixed(1)}% of one core's ~${CORE_PEAK_GFLOPS} GFLOP/s`);
    for (const [k, v] of Object.entries(r)) {
      const m = /^kernel_(.+)_gflops$/.exec(k);
      if (m && typeof v === 'number') notes.push(`raw kernel ${m[1]!.replace(/_/g, '-')}: ${v.toFixed(2)} GFLOP/s`);
    }
    return [r.name, r.kernels, fmt(r.median_ms), fmt(r.min_ms), fmt(r.max_ms), fmt(r.gflops, 2), fmt(r.peak_rss_mb, 0), String(r.runs), notes.join('; ')];
  });
  if (markdown) {
    const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
    return [line(head), line(head.map((h, i) => (i >= 2 && i <= 7 ? '---:' : '---'))), ...rows.map(line)].join('\n');
  }
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (i === head.length - 1 ? 0 : r[i]!.length))));
  const pad = (cells: string[]): string =>
    cells.map((c, i) => (i === cells.length - 1 ? c : i >= 2 && i <= 7 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
  return [pad(head), pad(head.map((_, i) => '-'.repeat(i === head.length - 1 ? 21 : widths[i]!))), ...rows.map(pad)].join('\n');
}

function machineLine(): string {
  const c = cpus();
  const la = loadavg().map((x) => x.toFixed(2)).join(' ');
  return `${new Date().toISOString()}  node ${process.version}  ${c.length} x ${c[0]?.model ?? 'cpu'}  load average ${la}`;
}

async function main(): Promise<void> {
  let a: Args;
  try {
    a = parseArgs(process.argv.slice(2));
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`bench: ${e.message}\n`);
    process.exitCode = 2;
    return;
  }
  if (a.help) {
    console.log(HELP);
    return;
  }
  if (a.kernels) process.env.LRP_TAPE_KERNELS = a.kernels;

  if (a.list) {
    const { WORKLOADS } = await import('./workloads.js');
    for (const w of WORKLOADS) console.log(`${w.name.padEnd(22)} ${w.description}${w.heavy ? ' [heavy: fewer runs]' : ''}`);
    for (const n of installedTfjs()) console.log(`${n.padEnd(22)} TensorFlow.js side run (installed)`);
    return;
  }

  if (a.only.length) {
    const results: BenchResult[] = [];
    try {
      await runInProcess(a.only, a, (r) => {
        results.push(r);
        if (a.json) console.log(JSON.stringify(r));
      });
    } catch (e) {
      if (!(e instanceof UsageError)) throw e;
      process.stderr.write(`bench: ${e.message}\n`);
      process.exitCode = 2;
      return;
    }
    if (!a.json) console.log(`\n${machineLine()}\n\n${table(results, a.markdown)}`);
    // Kernel worker pools or tfjs may keep the event loop alive; stdout to a pipe or file is synchronous on Linux.
    process.exit(process.exitCode ?? 0);
  }

  const { WORKLOADS } = await import('./workloads.js');
  const startLine = machineLine();
  const names = [...WORKLOADS.map((w) => w.name), ...(a.tfjs ? installedTfjs() : [])];
  const t0 = Date.now();
  const results = runChildren(names, a);
  if (a.json) return;
  const r0 = results[0];
  console.log(`\nlrp-tape bench  ${a.quick ? '(--quick)  ' : ''}started ${startLine}`);
  console.log(`finished after ${((Date.now() - t0) / 60000).toFixed(1)} min, load average now ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  if (r0) console.log(`kernels: ${r0.kernels}${r0.wasm_variant ? ` ${r0.wasm_variant}` : ''} (${String(r0.kernels_source)}); threads asked ${r0.threads}, used ${r0.threads_used}: ${String(r0.threads_note)}`);
  if (a.frozen) console.log('--frozen: parameters do not require grad in the gradient / LRP workloads');
  console.log(a.gcBetweenRuns ? '--gc-between-runs: a full collection (untimed) before every run' : 'steady state: no forced collection between runs (--gc-between-runs to force one)');
  if (!installedTfjs().length) console.log('TensorFlow.js side runs skipped: @tensorflow/tfjs (or tfjs-core) with tfjs-backend-cpu / -wasm is not installed');
  else if (!a.tfjs) console.log('TensorFlow.js side runs skipped (--no-tfjs)');
  console.log(`ratios: ours / yardstick (above 1 = slower); yardsticks in bench/yardsticks.ts, same kind of machine\n`);
  console.log(table(results, a.markdown));
}

await main();
