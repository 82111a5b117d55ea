/**
 * `npm run bench:browser`: ResNet-18 LRP (the resnet18-lrp workload) in headless Chromium, Debian's
 * package driven by playwright-core, with the library bundled by esbuild as a user's bundler would.
 * Prints the median and range of the page's own timings; compare with
 * `npm run --silent bench -- --only resnet18-lrp --json` from the same sitting.
 *
 *   npm run bench:browser [-- --runs 9 --warmup 3 --json]
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
    for (const setting of SETTINGS) {
      const page = await browser.newPage();
      const log = watchConsole(page);
      await page.goto(`${server.url}?${setting.query}&runs=${runs}&warmup=${warmup}`);
      await page.waitForFunction(() => (globalThis as { __bench?: unknown }).__bench !== undefined, undefined, { timeout: 600_000 });
      const r = (await page.evaluate(() => (globalThis as { __bench?: unknown }).__bench)) as
        { error?: string; backend: string; threads: number; runs: number[] };
      await page.close();
      if (r.error) throw new Error(`the page failed (${setting.label}): ${r.error}`);
      if (log.errors.length) throw new Error(`console errors (${setting.label}): ${log.errors.join('; ')}`);
      const sorted = [...r.runs].sort((a, b) => a - b);
      const median = sorted[Math.floor(sorted.length / 2)]!;
      const version = browser.version();
      const line = {
        name: 'resnet18-lrp-browser', setting: setting.label, browser: `chromium ${version}`, backend: r.backend, threads: r.threads,
        runs: r.runs.length, median_ms: +median.toFixed(1), min_ms: +sorted[0]!.toFixed(1), max_ms: +sorted[sorted.length - 1]!.toFixed(1),
      };
      if (json) console.log(JSON.stringify(line));
      else console.log(`resnet18-lrp in Chromium ${version}, ${setting.label} (${r.backend}, ${r.threads} thread(s)): median ${line.median_ms} ms, min ${line.min_ms}, max ${line.max_ms} over ${line.runs} runs`);
    }
  } finally {
    await browser.close();
    await server.close();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
