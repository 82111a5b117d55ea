/**
 * Kernel threads in a browser: the library inside a dedicated Web Worker of a cross-origin-isolated
 * page starts nested Web Workers for its kernel threads (engine/kernels/parallel/web.ts), and the
 * explanation is bit-identical to one thread and equal to Node's. Without isolation it runs one
 * thread and says why.
 */
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { build } from 'esbuild';
import * as lib from '../../index.js';
import { maxAbsDiff, scenario, type ScenarioResult } from './scenario.mjs';
import { repoRoot } from './pack.js';
import { launchChromium, serveStatic, watchConsole } from '../support/browser.js';

interface AppResult {
  error?: string;
  single: ScenarioResult;
  threaded: ScenarioResult;
  before: lib.KernelStatus;
  after: lib.KernelStatus;
  started: boolean;
  splits: number;
}

function sameBits(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
}

describe('package: kernel threads in the browser (Web Workers)', function () {
  this.timeout(120_000);
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lrp-tape-threads-'));
    const common = { bundle: true, platform: 'browser', format: 'esm', target: 'es2022', logLevel: 'silent' } as const;
    await build({ ...common, entryPoints: [join(repoRoot, 'spec/package/threads/app.ts')], outfile: join(dir, 'app.js') });
    await build({ ...common, entryPoints: [join(repoRoot, 'engine/kernels/parallel/web-worker.ts')], outfile: join(dir, 'kernel-worker.js') });
    copyFileSync(join(repoRoot, 'spec/package/threads/page.js'), join(dir, 'page.js'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><script src="page.js"></script>');
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  async function runPage(isolated: boolean): Promise<{ r: AppResult; errors: string[]; warnings: string[] }> {
    // The browser first: when it cannot start, no server is left open to keep mocha from exiting.
    const browser = await launchChromium();
    const server = await serveStatic(dir, { isolated });
    try {
      const page = await browser.newPage();
      const log = watchConsole(page);
      await page.goto(server.url);
      await page.waitForFunction(() => (globalThis as { __lrp?: unknown }).__lrp !== undefined, undefined, { timeout: 90_000 });
      const r = (await page.evaluate(() => (globalThis as { __lrp?: unknown }).__lrp)) as AppResult;
      return { r, errors: log.errors, warnings: log.warnings };
    } finally {
      await browser.close();
      await server.close();
    }
  }

  it('an isolated page: two threads in a worker equal one thread bit for bit and Node to 1e-6', async () => {
    const { r, errors } = await runPage(true);
    expect(r.error).to.equal(undefined);
    expect(errors).to.deep.equal([]);
    expect(r.before.threads).to.equal(1);
    expect(r.started).to.equal(true);
    expect(r.after.threads).to.equal(2);
    expect(r.after.threadsNote).to.equal(null);
    expect(r.after.backend).to.equal('wasm');
    expect(r.splits).to.be.greaterThan(0);
    for (const key of ['output', 'flat', 'box'] as const) expect(sameBits(r.threaded[key], r.single[key]), key).to.equal(true);
    const node = scenario(lib);
    for (const key of ['output', 'flat', 'box'] as const) expect(maxAbsDiff(r.threaded[key], node[key]), key).to.be.at.most(1e-6);
  });

  it('a page without cross-origin isolation runs one thread and says why', async () => {
    const { r, errors } = await runPage(false);
    expect(r.error).to.equal(undefined);
    expect(errors).to.deep.equal([]);
    expect(r.started).to.equal(false);
    expect(r.after.threads).to.equal(1);
    expect(r.after.threadsNote).to.match(/not cross-origin isolated/);
    for (const key of ['output', 'flat', 'box'] as const) expect(sameBits(r.threaded[key], r.single[key]), key).to.equal(true);
  });
});
