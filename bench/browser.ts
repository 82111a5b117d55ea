/**
 * `npm run bench:browser`: ResNet-18 LRP (the resnet18-lrp workload) in headless Chromium, Debian's
 * package driven by playwright-core, with the library bundled by esbuild as a user's bundler would.
 * Prints the median and range of the page's own timings; compare with
 * `npm run --silent bench -- --only resnet18-lrp --json` from the same sitting.
 *
 *   npm run bench:browser [-- --runs 9 --warmup 3 --json]
 *       [--workload resnet18-lrp|resnet18-forward|gemm-1024] [--settings 0,1,2] [--relaxed default|off|both]
 *
 * --settings picks from SETTINGS by index; --relaxed both measures each setting with Chromium's
 * default (relaxed SIMD kernels) and with the plain SIMD ones, alternating.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { launchChromium, serveStatic, watchConsole } from '../spec/support/browser.js';

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 0) throw new Error(`--${name} takes a whole number, got '${process.argv[i + 1]}'`);
  return v;
}

const runs = option('runs', 9);
const warmup = option('warmup', 3);
const json = process.argv.includes('--json');
function stringOption(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : (process.argv[i + 1] ?? fallback);
}
const workloadName = stringOption('workload', 'resnet18-lrp');
const relaxedChoice = stringOption('relaxed', 'default');
if (!['default', 'off', 'both'].includes(relaxedChoice)) throw new Error(`--relaxed takes default, off or both, got '${relaxedChoice}'`);
const relaxedQueries = relaxedChoice === 'both' ? ['', '&relaxed=0'] : relaxedChoice === 'off' ? ['&relaxed=0'] : [''];
/** The settings measured, each in a fresh page: the page's main thread, then a Web Worker with 1 and 2 kernel threads. */
const SETTINGS = [
  { label: 'page main thread', query: 'worker=0&threads=1' },
  { label: 'Web Worker, 1 thread', query: 'worker=1&threads=1' },
  { label: 'Web Worker, 2 kernel threads', query: 'worker=1&threads=2' },
];

const dir = mkdtempSync(join(tmpdir(), 'lrp-tape-bench-browser-'));
try {
  const common = { bundle: true, platform: 'browser', format: 'esm', target: 'es2022', minify: true, logLevel: 'warning' } as const;
  await build({ ...common, entryPoints: [fileURLToPath(new URL('./browser/entry.ts', import.meta.url))], outfile: join(dir, 'bench.js') });
  await build({ ...common, entryPoints: [fileURLToPath(new URL('../engine/kernels/parallel/web-worker.ts', import.meta.url))], outfile: join(dir, 'kernel-worker.js') });
  writeFileSync(join(dir, 'index.html'), '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>bench</title><script type="module" src="bench.js"></script>');
  const server = await serveStatic(dir, { isolated: true });
  const browser = await launchChromium();
  try {
    const settingIndices = stringOption('settings', '0,1,2').split(',').map(Number);
    for (const setting of settingIndices.map((i) => SETTINGS[i]!)) for (const relaxedQuery of relaxedQueries) {
      const page = await browser.newPage();
      const log = watchConsole(page);
      await page.goto(`${server.url}?${setting.query}&runs=${runs}&warmup=${warmup}&workload=${workloadName}${relaxedQuery}`);
      await page.waitForFunction(() => (globalThis as { __bench?: unknown }).__bench !== undefined, undefined, { timeout: 600_000 });
      const r = (await page.evaluate(() => (globalThis as { __bench?: unknown }).__bench)) as
        { error?: string; backend: string; wasmVariant: string | null; threads: number; runs: number[] };
      await page.close();
      if (r.error) throw new Error(`the page failed (${setting.label}): ${r.error}`);
      if (log.errors.length) throw new Error(`console errors (${setting.label}): ${log.errors.join('; ')}`);
      const sorted = [...r.runs].sort((a, b) => a - b);
      const median = sorted[Math.floor(sorted.length / 2)]!;
      const version = browser.version();
      const line = {
        name: `${workloadName}-browser`, setting: setting.label, browser: `chromium ${version}`, backend: r.backend, wasmVariant: r.wasmVariant, threads: r.threads,
        runs: r.runs.length, median_ms: +median.toFixed(1), min_ms: +sorted[0]!.toFixed(1), max_ms: +sorted[sorted.length - 1]!.toFixed(1),
      };
      if (json) console.log(JSON.stringify(line));
      else console.log(`${workloadName} in Chromium ${version}, ${setting.label} (${r.backend} ${r.wasmVariant ?? ''}, ${r.threads} thread(s)): median ${line.median_ms} ms, min ${line.min_ms}, max ${line.max_ms} over ${line.runs} runs`);
    }
  } finally {
    await browser.close();
    await server.close();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
