/**
 * The package as its users get it: `npm pack` (which builds dist/), installed from the tarball into
 * fresh projects with no tsx and no TypeScript loader, then used from plain node, from strict
 * TypeScript projects, from the installed CLI and from a browser bundle in headless Chromium.
 * The explanation every runtime computes is spec/package/scenario.mjs, compared with the same
 * computation from the repository's sources.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { build } from 'esbuild';
import * as lib from '../../index.js';
import { readSafetensorsFile } from '../../node/index.js';
import { maxAbsDiff, scenario, type ScenarioResult } from './scenario.mjs';
import { repoRoot, sharedConsumer, type Packed } from './pack.js';
import { launchChromium, serveStatic, watchConsole, type PageLog } from '../support/browser.js';

interface PageResult {
  status: lib.KernelStatus;
  result: ScenarioResult;
}

const run = promisify(execFile);
const MAX_TARBALL_BYTES = 1.5 * 1024 * 1024;
const TOL = 1e-6;

function expectSameResult(actual: ScenarioResult, expected: ScenarioResult, where: string): void {
  for (const key of ['output', 'flat', 'box'] as const) {
    expect(actual[key].length, `${where}: ${key} length`).to.equal(expected[key].length);
    expect(maxAbsDiff(actual[key], expected[key]), `${where}: ${key}`).to.be.at.most(TOL);
  }
}

describe('package: installed from the tarball', function () {
  this.timeout(240_000);
  let packed: Packed;
  let consumer: string;
  let reference: ScenarioResult;

  before(function () {
    ({ packed, dir: consumer } = sharedConsumer());
    reference = scenario(lib);
    writeFileSync(join(consumer, 'scenario.mjs'), readFileSync(join(repoRoot, 'spec/package/scenario.mjs')));
  });

  it('is small and holds LICENSE, README, a fresh dist with types, source maps and kernels.wasm, and no tests or sources', () => {
    expect(packed.bytes, `tarball ${packed.bytes} bytes`).to.be.below(MAX_TARBALL_BYTES);
    for (const f of ['LICENSE', 'README.md', 'package.json', 'dist/index.js', 'dist/index.d.ts', 'dist/index.js.map', 'dist/node/index.js', 'dist/node/index.d.ts', 'dist/cli/bin.js', 'dist/engine/kernels/wasm/kernels.wasm', 'dist/engine/kernels/wasm/kernels-relaxed.wasm', 'dist/engine/kernels/parallel/worker.js']) {
      expect(packed.files, f).to.include(f);
    }
    const stray = packed.files.filter((f) => f.startsWith('spec/') || f.endsWith('.safetensors') || (f.endsWith('.ts') && !f.endsWith('.d.ts')));
    expect(stray).to.deep.equal([]);
    // dist is what `npm run build` makes from the current sources, not a leftover.
    const built = readFileSync(join(repoRoot, 'dist/engine/kernels/wasm/kernels-bytes.js'), 'utf8');
    expect(built).to.include(readFileSync(join(repoRoot, 'engine/kernels/wasm/kernels-bytes.ts'), 'utf8').split("'")[1]);
  });

  it('runs an explanation with plain node (ESM, no loader) on the WASM kernels, equal to the sources to 1e-6', async () => {
    const script = [
      "import * as lib from 'lrp-tape';",
      "import { scenario } from './scenario.mjs';",
      'const status = await lib.ready();',
      'process.stdout.write(JSON.stringify({ status, result: scenario(lib) }));',
    ].join('\n');
    writeFileSync(join(consumer, 'plain.mjs'), script);
    const { stdout, stderr } = await run(process.execPath, ['plain.mjs'], { cwd: consumer, maxBuffer: 64 << 20 });
    expect(stderr).to.equal('');
    const { status, result } = JSON.parse(stdout) as { status: lib.KernelStatus; result: ScenarioResult };
    expect(status.backend).to.equal('wasm');
    expect(status.wasmFailure).to.equal(null);
    expect(status.threadsNote).to.equal(null);
    expect(result.backend).to.equal('wasm');
    expectSameResult(result, reference, 'node');
  });

  it('reads files through lrp-tape/node and runs kernel threads from dist', async () => {
    const script = [
      "import { engine as E, kernelStatus } from 'lrp-tape';",
      "import { readStateDictFile, writeStateDictFile } from 'lrp-tape/node';",
      'E.setKernelThreads(2);',
      'const a = E.randn([384, 384], { rng: new E.Rng(1) });',
      'const b = E.randn([384, 384], { rng: new E.Rng(2) });',
      'const threaded = E.matmul(a, b);',
      'const threads = kernelStatus().threads;',
      'E.setKernelThreads(1);',
      'const single = E.matmul(a, b);',
      "writeStateDictFile('w.safetensors', new Map([['a', a]]));",
      "const back = readStateDictFile('w.safetensors').get('a');",
      'let same = true; for (let i = 0; i < single.data.length; i++) if (single.data[i] !== threaded.data[i]) same = false;',
      'let round = true; for (let i = 0; i < a.data.length; i++) if (back.data[i] !== a.data[i]) round = false;',
      'process.stdout.write(JSON.stringify({ threads, same, round }));',
    ].join('\n');
    writeFileSync(join(consumer, 'files.mjs'), script);
    const { stdout } = await run(process.execPath, ['files.mjs'], { cwd: consumer });
    expect(JSON.parse(stdout)).to.deep.equal({ threads: 2, same: true, round: true });
  });

  it('compiles strict TypeScript consumers (nodenext and bundler, skipLibCheck false) with zero errors', async () => {
    const tsc = join(repoRoot, 'node_modules/typescript/bin/tsc');
    const source = [
      "import { engine as E, nn, attribution, composites, ready, kernelStatus, type KernelStatus } from 'lrp-tape';",
      "import { readStateDictFile, writePng } from 'lrp-tape/node';",
      'const status: KernelStatus = await ready();',
      'const model = new nn.Sequential(new nn.Linear(4, 3), new nn.ReLU(), new nn.Linear(3, 2));',
      'const rec = attribution.recordForward(model, E.randn([1, 4]));',
      'const r: E.Tensor = rec.attribute(attribution.oneHotSeed(rec.output, [1]), { composite: composites.epsilonPlus() }).relevance;',
      'const backend: "wasm" | "ts" = kernelStatus().backend;',
      'export const used = [status, r.shape, backend, readStateDictFile, writePng] as const;',
    ].join('\n');
    const configs = {
      nodenext: { module: 'nodenext', moduleResolution: 'nodenext', lib: ['ES2022'] },
      bundler: { module: 'esnext', moduleResolution: 'bundler', lib: ['ES2022', 'DOM'] },
    };
    for (const [name, options] of Object.entries(configs)) {
      const dir = join(consumer, `ts-${name}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'main.ts'), source);
      writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
        compilerOptions: { ...options, target: 'ES2022', strict: true, skipLibCheck: false, noEmit: true, types: [], exactOptionalPropertyTypes: true, noUncheckedIndexedAccess: true },
        include: ['main.ts'],
      }));
      const res = await run(process.execPath, [tsc, '-p', dir], { cwd: dir }).then(
        () => ({ code: 0, out: '' }),
        (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
      );
      expect(res.out, name).to.equal('');
      expect(res.code, name).to.equal(0);
    }
  });

  it('installs the CLI: npx lrp-tape --help and one explain run', async () => {
    const help = await run('npx', ['--no-install', 'lrp-tape', '--help'], { cwd: consumer });
    expect(help.stdout).to.match(/Usage: lrp-tape/);
    expect(help.stdout).to.match(/explain/);
    const caseFile = join(repoRoot, 'spec/fixtures/zennit/cnn-epsilon_plus_flat.safetensors');
    const spec = JSON.parse(readSafetensorsFile(caseFile).metadata.case!) as { model: unknown };
    writeFileSync(join(consumer, 'model.json'), JSON.stringify(spec.model));
    const res = await run('npx', ['--no-install', 'lrp-tape', 'explain', '--model', 'model.json', '--weights', caseFile, '--weights-prefix', 'param/', '--input', caseFile, '-r', 'r.safetensors', '-o', 'r.png'], { cwd: consumer });
    expect(res.stderr).to.not.match(/internal error|\n\s+at /);
    const written = readSafetensorsFile(join(consumer, 'r.safetensors'));
    const relevance = written.tensors.get('relevance')!;
    expect(relevance.shape).to.deep.equal([2, 3, 16, 16]);
    expect(readFileSync(join(consumer, 'r.png')).subarray(1, 4).toString()).to.equal('PNG');
    // The reference cases are not published: the installed conformance command says so in one line.
    const conf = await run('npx', ['--no-install', 'lrp-tape', 'conformance'], { cwd: consumer }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(conf.code).to.equal(2);
    expect(conf.stderr.trim()).to.match(/^conformance: this installation has no reference cases .*pass a folder of cases/);
  });

  it('in a clone, npm install builds dist (the prepare script), so npx lrp-tape runs there too', async () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string>; bin: Record<string, string> };
    // npm runs prepare after `npm install`/`npm ci` in a clone and before `npm pack`; the bin it builds is what npx finds.
    expect(pkg.scripts.prepare).to.equal('npm run build');
    expect(existsSync(join(repoRoot, pkg.bin['lrp-tape']!)), 'the bin exists after the build').to.equal(true);
    const help = await run('npx', ['--no-install', 'lrp-tape', '--help'], { cwd: repoRoot });
    expect(help.stdout).to.match(/Usage: lrp-tape/);
  });

  it('bundles for the browser with zero unresolved imports and explains in Chromium with the WASM kernels, equal to node to 1e-6', async () => {
    const page = join(consumer, 'page');
    mkdirSync(page, { recursive: true });
    writeFileSync(join(page, 'entry.mjs'), [
      "import * as lib from 'lrp-tape';",
      "import { scenario } from '../scenario.mjs';",
      'const status = await lib.ready();',
      'const t0 = performance.now();',
      'const result = scenario(lib);',
      'globalThis.__lrp = { status, result, ms: performance.now() - t0, isolated: globalThis.crossOriginIsolated === true };',
    ].join('\n'));
    const bundled = await build({
      entryPoints: [join(page, 'entry.mjs')], bundle: true, platform: 'browser', format: 'esm', target: 'es2022',
      outfile: join(page, 'bundle.js'), logLevel: 'silent', absWorkingDir: consumer,
    });
    expect(bundled.errors).to.deep.equal([]);
    expect(bundled.warnings.map((w) => w.text)).to.deep.equal([]);
    // The kernel-worker entry (browser kernel threads) bundles on its own as well.
    writeFileSync(join(page, 'kernel-entry.mjs'), "import 'lrp-tape/kernel-worker';\n");
    const worker = await build({
      entryPoints: [join(page, 'kernel-entry.mjs')], bundle: true, platform: 'browser', format: 'esm', target: 'es2022',
      outfile: join(page, 'kernel-worker.js'), logLevel: 'silent', absWorkingDir: consumer,
    });
    expect(worker.errors).to.deep.equal([]);
    writeFileSync(join(page, 'index.html'), '<!doctype html><meta charset="utf-8"><title>lrp-tape</title><link rel="icon" href="data:,"><script type="module" src="bundle.js"></script>');
    // The browser first: when it cannot start, no server is left open to keep mocha from exiting.
    const browser = await launchChromium();
    const server = await serveStatic(page);
    // The same page where a content-security policy forbids compiling WebAssembly.
    const blocked = await serveStatic(page, { headers: { 'content-security-policy': "script-src 'self'" } });
    try {
      const open = async (url: string): Promise<{ got: PageResult; log: PageLog }> => {
        const tab = await browser.newPage();
        const log = watchConsole(tab);
        await tab.goto(url);
        await tab.waitForFunction(() => (globalThis as { __lrp?: unknown }).__lrp !== undefined, undefined, { timeout: 60_000 });
        return { got: (await tab.evaluate(() => (globalThis as { __lrp?: unknown }).__lrp)) as PageResult, log };
      };
      const { got, log } = await open(server.url);
      expect(log.errors).to.deep.equal([]);
      expect(log.warnings).to.deep.equal([]);
      expect(got.status.backend).to.equal('wasm');
      expect(got.status.threads).to.equal(1);
      expect(got.status.threadsNote).to.match(/^no kernel threads in this browser context: the page is not cross-origin isolated/);
      expect(got.result.backend).to.equal('wasm');
      expectSameResult(got.result, reference, 'chromium');

      const fallback = await open(blocked.url);
      expect(fallback.log.errors).to.deep.equal([]);
      expect(fallback.log.warnings).to.have.length(1);
      expect(fallback.log.warnings[0]).to.match(/^lrp-tape: WebAssembly kernels unavailable \(.+\); using the TypeScript kernels, several times slower\.$/);
      expect(fallback.got.status.backend).to.equal('ts');
      expect(fallback.got.status.wasmFailure).to.be.a('string');
      expect(fallback.got.result.flat.every(Number.isFinite)).to.equal(true);
    } finally {
      await browser.close();
      await server.close();
      await blocked.close();
    }
  });
});
