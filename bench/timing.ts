/**
 * Wall-clock timing for the benchmark workloads: untimed warm-up runs (so V8 has optimised the hot
 * code), then timed runs; median, min and max in milliseconds. No engine imports here.
 */

export interface Timing {
  /** Every timed run in milliseconds, in the order they ran. */
  samples: number[];
  median: number;
  min: number;
  max: number;
}

export interface TimeOptions {
  warmup: number;
  runs: number;
  /**
   * Heavy workloads: when set and there was a warm-up, the timed runs are cut to what fits this
   * many milliseconds at the last warm-up's speed (at least 1, at most `runs`).
   */
  budgetMs?: number;
  /**
   * A full collection before every run, untimed (when the GC can be reached): each run starts from
   * the same heap. Off by default: the runs then follow each other as in a user's loop over inputs,
   * garbage of one run is collected (and timed) during the next as V8 decides, and memory the
   * allocator would hand back to the OS after a forced collection is reused instead.
   */
  gcBetweenRuns?: boolean;
  /** Called after each warm-up or timed run (not timed), e.g. to print progress. */
  onRun?: (phase: 'warmup' | 'timed', i: number, ms: number) => void;
}

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * The garbage collector: global `gc` under --expose-gc, otherwise exposed at run time (the flag
 * set now applies to contexts created afterwards), so `npm run bench` needs no extra node flag.
 */
function findGc(): (() => void) | undefined {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) return g;
  try {
    setFlagsFromString('--expose-gc');
    const fn: unknown = runInNewContext('gc');
    return typeof fn === 'function' ? (fn as () => void) : undefined;
  } catch {
    return undefined;
  }
}

const gc = findGc();

/** Whether a full collection can run before each timed run (see TimeOptions.gcBetweenRuns). */
export const gcAvailable = gc !== undefined;

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Times `fn` after `o.warmup` untimed runs; see TimeOptions.gcBetweenRuns for the collector. */
export function timeRuns(fn: () => void, o: TimeOptions): Timing {
  const collect = o.gcBetweenRuns ? gc : undefined;
  let last = 0;
  for (let i = 0; i < o.warmup; i++) {
    collect?.();
    const t0 = process.hrtime.bigint();
    fn();
    last = Number(process.hrtime.bigint() - t0) / 1e6;
    o.onRun?.('warmup', i, last);
  }
  let runs = Math.max(1, o.runs);
  if (o.budgetMs !== undefined && last > 0) runs = Math.max(1, Math.min(runs, Math.floor(o.budgetMs / last)));
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    collect?.();
    const t0 = process.hrtime.bigint();
    fn();
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    samples.push(ms);
    o.onRun?.('timed', i, ms);
  }
  return { samples, median: median(samples), min: Math.min(...samples), max: Math.max(...samples) };
}

/** Peak resident set size of this process so far, in MiB (Linux reports maxRSS in KiB). */
export function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}
