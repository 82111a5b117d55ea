/**
 * Every shell command README.md and docs/EXPORT.md show (lines of `sh` blocks, and the README's command
 * table) either runs here and exits 0, or is listed in NOT_RUN with the reason. Weights are random
 * (seeded) stand-ins under the file names the commands use; dog.jpg and photos/ hold the preprocessing fixture.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { expect } from 'chai';
import * as E from '../../engine/index.js';
import { createImage } from '../../image/index.js';
import { buildFromSpec, resnet18 } from '../../models/index.js';
import { writePng, writeStateDictFile } from '../../node/index.js';

const root = join(import.meta.dirname, '..', '..');
const DOCS = ['README.md', 'docs/EXPORT.md'];

/** Commands not run, with why; a new command in the docs fails the test until it runs or is listed here. */
const NOT_RUN: Record<string, string> = {
  'npm install': 'installs the dependencies this suite already runs on',
  'npm install lrp-tape': 'installs the published package from the registry (no network in tests)',
  'npm test': 'is this suite',
  'npm run demo': 'trains two CNNs for minutes; spec/demo/run.spec.ts runs the same code on a small setting',
  'npm run bench': 'takes minutes and measures speed, which no test asserts',
  'npm run lrp-tape -- evaluate': "trains the demo's two CNNs (about a minute) before evaluating; spec/evaluation/ runs the same code on small settings",
  'npm run lrp-tape -- evaluate --json': "as the table form; spec/evaluation/ checks the JSON shape on small settings",
  'npm run lrp-tape -- evaluate --images photos --model resnet18 --weights resnet18.safetensors --preprocess imagenet --patch 16 --html report.html':
    'ResNet-18 pixel flipping and cascading randomisation take minutes; spec/cli/evaluate.spec.ts runs --images with --model and --weights on a small model',
  'npm run lrp-tape -- evaluate --images shapes --masks shape-masks': "trains the demo's two CNNs first, and needs the reader's PNGs; spec/cli/evaluate.spec.ts runs --images and --masks on a small model",
  'npm run teach': 'serves the page until stopped; spec/teach/page.spec.ts builds the same page and drives it in Chromium',
};

function commands(): { doc: string; cmd: string }[] {
  const out: { doc: string; cmd: string }[] = [];
  for (const doc of DOCS) {
    const text = readFileSync(join(root, doc), 'utf8');
    for (const m of text.matchAll(/```sh\n([\s\S]*?)```/g)) {
      for (const line of m[1]!.split('\n')) {
        // A trailing '# ...' is a comment to the reader, as sh reads it (the docs quote no '#').
        const cmd = line.replace(/\s+#.*$/, '').trim();
        if (cmd && !cmd.startsWith('#')) out.push({ doc, cmd });
      }
    }
    for (const m of text.matchAll(/^\| `((?:npm|npx) [^`]*)` \|/gm)) out.push({ doc, cmd: m[1]! });
  }
  return out;
}

/** Splits a command line as sh would for the plain words and double-quoted strings the docs use. */
function words(cmd: string): string[] {
  return [...cmd.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!);
}

/** The node command line an npm/npx command runs (package.json's scripts, checked below). */
function toNode(cmd: string): string[] {
  const w = words(cmd);
  const after = (i: number) => (w[i] === '--' ? w.slice(i + 1) : w.slice(i));
  if (w[0] === 'npx' && w[1] === 'lrp-tape') return [join(root, 'cli/run-source.js'), ...w.slice(2)];
  if (w[0] === 'npm' && w[1] === 'run' && w[2] === 'lrp-tape') return [join(root, 'cli/run-source.js'), ...after(3)];
  if (w[0] === 'npm' && w[1] === 'run' && w[2] === 'conformance') {
    // [DIR] is optional: one case file keeps it short.
    const args = after(3).map((a) => (a === '[DIR]' ? join(root, 'spec/fixtures/zennit/cnn-deconvnet.safetensors') : a));
    // tsx as a URL: the command runs in a scratch folder, where a bare 'tsx' does not resolve.
    return ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href, join(root, 'cli/conformance-main.ts'), ...args];
  }
  throw new Error(`no way to run '${cmd}'`);
}

function runNode(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    execFile(process.execPath, args, { cwd, env: { ...process.env, CI: '1' }, timeout: 120_000 }, (err, stdout, stderr) => {
      res({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

describe('the commands README.md and docs/EXPORT.md show', function () {
  this.timeout(300_000);
  let dir: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'lrp-tape-readme-'));
    writeStateDictFile(join(dir, 'resnet18.safetensors'), resnet18({ rng: new E.Rng(7) }));
    copyFileSync(join(root, 'spec/fixtures/preprocess/image.jpg'), join(dir, 'dog.jpg'));
    mkdirSync(join(dir, 'photos'));
    copyFileSync(join(root, 'spec/fixtures/preprocess/image.jpg'), join(dir, 'photos', 'cat.jpg'));
    copyFileSync(join(root, 'spec/fixtures/preprocess/image.png'), join(dir, 'photos', 'owl.png'));
    const exportDoc = readFileSync(join(root, 'docs/EXPORT.md'), 'utf8');
    const json = /```json\n([\s\S]*?)```/.exec(exportDoc)![1]!;
    writeFileSync(join(dir, 'model.json'), json);
    writeStateDictFile(join(dir, 'model.safetensors'), buildFromSpec(JSON.parse(json), { rng: new E.Rng(8) }));
    const img = createImage(40, 30, 3);
    for (let i = 0; i < img.data.length; i++) img.data[i] = (i * 53) % 256;
    writePng(join(dir, 'image.png'), img);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('map to the package.json scripts they name', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts['lrp-tape']).to.equal('node cli/run-source.js');
    expect(pkg.scripts.conformance).to.equal('node --import tsx cli/conformance-main.ts');
  });

  it('each run and exit 0, or are listed with the reason they are not run', async () => {
    const list = commands();
    expect(list.length).to.be.greaterThan(5);
    const toRun = list.filter((c) => !(c.cmd in NOT_RUN));
    expect(toRun.some((c) => c.cmd.includes('explain --model resnet18'))).to.equal(true);
    for (const { doc, cmd } of toRun) {
      const r = await runNode(toNode(cmd), dir);
      expect(r.code, `${doc}: ${cmd}\n${r.stderr}`).to.equal(0);
      expect(r.stderr, `${doc}: ${cmd}`).to.equal('');
    }
  });
});
