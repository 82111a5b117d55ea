/**
 * The demo at a reduced size: the explanation-guided model must put less relevance on the decoy
 * and be more accurate when the decoy is randomised than the plain model, and the report files
 * must be there (and usable by `lrp-tape explain`).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { Rng } from '../../engine/index.js';
import { runDemo, type DemoMetrics } from '../../demo/run.js';
import { decoyMask, makeDataSet } from '../../demo/data.js';
import { readPng } from '../../node/index.js';
import { run } from '../../cli/main.js';

describe('demo: explanation-guided training against a decoy', function () {
  this.timeout(120_000);
  let dir: string;
  let m: DemoMetrics;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'lrp-tape-demo-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('data: the patch colour follows the class in consistent sets only; shapes stay clear of the decoy region', () => {
    const rng = new Rng(5);
    const consistent = makeDataSet(60, rng, { decoy: 'consistent' });
    const random = makeDataSet(300, rng, { decoy: 'random' });
    expect(Array.from(consistent.patchClass)).to.deep.equal(Array.from(consistent.y));
    const agree = random.y.filter((c, i) => random.patchClass[i] === c).length / 300;
    expect(agree).to.be.within(0.2, 0.47);
    // Without noise, pixels inside the mask but outside the patch are exactly 0: no shape reaches them.
    const clean = makeDataSet(90, rng, { noise: 0 });
    const mask = decoyMask({}, 1);
    const S = 24;
    for (let i = 0; i < 90; i++) {
      for (let p = 0; p < S * S; p++) {
        const r = Math.floor(p / S);
        const c = p % S;
        const inPatch = r >= 1 && r < 5 && c >= 1 && c < 5;
        if (mask[p] && !inPatch) for (let ch = 0; ch < 3; ch++) expect(clean.x.data[i * 3 * S * S + ch * S * S + p]).to.equal(0);
      }
    }
  });

  it('at a reduced size the guided model beats the plain one on decoy share and randomised accuracy', () => {
    m = runDemo({ out: dir, epochs: 4, trainSize: 600, testSize: 150, batchSize: 16, seed: 0, examples: 4 });
    expect(m.guided.decoyShare.consistent).to.be.below(m.plain.decoyShare.consistent);
    expect(m.guided.accuracy.randomised).to.be.above(m.plain.accuracy.randomised);
    // The plain model takes the shortcut: perfect with it, near chance without it.
    expect(m.plain.accuracy.consistent).to.be.above(0.9);
    expect(m.plain.accuracy.randomised).to.be.below(0.5);
    expect(m.verdict.asExpected).to.equal(true);
    const onDisk = JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8')) as DemoMetrics;
    expect(onDisk.guided.accuracy).to.deep.equal(m.guided.accuracy);
    expect(onDisk.plain.decoyShare).to.deep.equal(m.plain.decoyShare);
    expect(onDisk.timings.totalSeconds).to.be.above(0);
    const html = readFileSync(join(dir, 'index.html'), 'utf8');
    expect(html).to.include('grid-consistent.png').and.to.include('grid-randomised.png').and.to.include(m.verdict.summary.slice(0, 40));
    for (const f of ['grid-consistent.png', 'grid-randomised.png']) {
      const img = readPng(join(dir, f));
      expect(img.height).to.be.above(img.width); // 4 rows of input | plain | guided
    }
    for (const f of ['model.json', 'plain.safetensors', 'guided.safetensors', 'sample.safetensors']) expect(existsSync(join(dir, f)), f).to.equal(true);
  });

  it('the saved models explain with `lrp-tape explain`; `lrp-tape demo` prints where the report is', async () => {
    const lines: string[] = [];
    const io = { stdout: (l: string) => lines.push(l), stderr: (l: string) => lines.push(l) };
    const code = await run(['node', 'lrp-tape', 'explain', '-m', join(dir, 'model.json'), '-w', join(dir, 'guided.safetensors'), '-i', join(dir, 'sample.safetensors'), '-o', join(dir, 'x.png')], io);
    expect(code, lines.join('\n')).to.equal(0);
    const out = join(dir, 'tiny');
    lines.length = 0;
    const code2 = await run(['node', 'lrp-tape', 'demo', '--epochs', '1', '--train-size', '30', '--test-size', '9', '--out', out, '--no-progress'], io);
    expect(code2, lines.join('\n')).to.equal(0);
    expect(lines.some((l) => l.startsWith('report: ') && l.endsWith('index.html'))).to.equal(true);
    expect(existsSync(join(out, 'index.html'))).to.equal(true);
  });
});
