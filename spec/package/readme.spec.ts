/**
 * Every code block of the README runs, as written, where it says it runs (`run=` in the fence's
 * info string): `node` blocks with plain node in a project that installed the tarball, `tsc` blocks
 * compiled there with strict settings and then run, `browser` blocks bundled with esbuild and run in
 * headless Chromium. A JavaScript or TypeScript block without `run=` fails the suite: nothing in the
 * README is a paraphrase of what is tested.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { build } from 'esbuild';
import { engine as E, models } from '../../index.js';
import { writeStateDictFile } from '../../node/index.js';
import { repoRoot, sharedConsumer } from './pack.js';
import { launchChromium, serveStatic, watchConsole } from '../support/browser.js';

const run = promisify(execFile);

interface Block {
  lang: string;
  run: string | null;
  code: string;
  line: number;
}

export function readmeBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const re = /^```(\w*)([^\n]*)\n([\s\S]*?)^```\s*$/gm;
  for (let m = re.exec(markdown); m; m = re.exec(markdown)) {
    const runAttr = /\brun=(\w+)/.exec(m[2]!);
    blocks.push({ lang: m[1]!, run: runAttr ? runAttr[1]! : null, code: m[3]!, line: markdown.slice(0, m.index).split('\n').length });
  }
  return blocks;
}

const CODE_LANGS = new Set(['js', 'javascript', 'mjs', 'ts', 'typescript', 'html']);

describe('README: every code block runs as written', function () {
  this.timeout(300_000);
  const blocks = readmeBlocks(readFileSync(join(repoRoot, 'README.md'), 'utf8'));
  let dir: string;

  before(() => {
    dir = sharedConsumer().dir;
    // The weights file the examples read: a ResNet-18 state dict with seeded random weights.
    writeStateDictFile(join(dir, 'resnet18.safetensors'), models.resnet18({ rng: new E.Rng(7) }));
  });

  it('marks every JavaScript / TypeScript block with where it runs', () => {
    const code = blocks.filter((b) => CODE_LANGS.has(b.lang));
    expect(code.length).to.be.at.least(3);
    expect(code.filter((b) => !['node', 'tsc', 'browser'].includes(b.run ?? '')).map((b) => `README.md:${b.line}`)).to.deep.equal([]);
  });

  blocks.forEach((block, i) => {
    if (block.run === 'node') {
      it(`README.md:${block.line} runs with plain node from the installed package`, async () => {
        writeFileSync(join(dir, `readme-${i}.mjs`), block.code);
        const { stderr } = await run(process.execPath, [`readme-${i}.mjs`], { cwd: dir, maxBuffer: 16 << 20 });
        expect(stderr).to.equal('');
      });
    } else if (block.run === 'tsc') {
      it(`README.md:${block.line} compiles with strict TypeScript (skipLibCheck false) and runs`, async () => {
        const sub = join(dir, `readme-${i}`);
        mkdirSync(sub, { recursive: true });
        writeFileSync(join(sub, 'main.ts'), block.code);
        writeFileSync(join(sub, 'tsconfig.json'), JSON.stringify({
          compilerOptions: {
            target: 'ES2022', module: 'nodenext', moduleResolution: 'nodenext', lib: ['ES2022', 'DOM'], types: [],
            strict: true, skipLibCheck: false, outDir: 'out',
          },
          include: ['main.ts'],
        }));
        const tsc = join(repoRoot, 'node_modules/typescript/bin/tsc');
        const compiled = await run(process.execPath, [tsc, '-p', sub], { cwd: sub }).then(() => '', (e: { stdout: string }) => e.stdout);
        expect(compiled).to.equal('');
        const { stderr } = await run(process.execPath, [join(sub, 'out', 'main.js')], { cwd: dir });
        expect(stderr).to.equal('');
      });
    } else if (block.run === 'browser') {
      it(`README.md:${block.line} bundles with esbuild and runs in Chromium`, async () => {
        const page = join(dir, `readme-${i}`);
        mkdirSync(page, { recursive: true });
        writeFileSync(join(page, 'main.mjs'), block.code);
        const res = await build({
          entryPoints: [join(page, 'main.mjs')], bundle: true, platform: 'browser', format: 'esm', target: 'es2022',
          outfile: join(page, 'bundle.js'), logLevel: 'silent', absWorkingDir: dir,
        });
        expect(res.errors).to.deep.equal([]);
        writeFileSync(join(page, 'index.html'), '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><canvas></canvas><script type="module" src="bundle.js"></script>');
        writeFileSync(join(page, 'resnet18.safetensors'), readFileSync(join(dir, 'resnet18.safetensors')));
        // The browser first: when it cannot start, no server is left open to keep mocha from exiting.
        const browser = await launchChromium();
        const server = await serveStatic(page);
        try {
          const tab = await browser.newPage();
          const log = watchConsole(tab);
          await tab.goto(server.url);
          await tab.waitForSelector('body[data-status]', { timeout: 120_000 });
          expect(await tab.getAttribute('body', 'data-status')).to.equal('explained with the wasm kernels');
          // Counted in the page (the spec compiles without the DOM lib, so the function is a string).
          const painted = await tab.evaluate(`(() => {
            const c = document.querySelector('canvas');
            const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let opaque = 0;
            for (let p = 3; p < px.length; p += 4) if (px[p] === 255) opaque++;
            return { w: c.width, h: c.height, opaque };
          })()`);
          expect(painted).to.deep.equal({ w: 224, h: 224, opaque: 224 * 224 });
          expect(log.errors).to.deep.equal([]);
          expect(log.warnings).to.deep.equal([]);
        } finally {
          await browser.close();
          await server.close();
        }
      });
    }
  });
});
