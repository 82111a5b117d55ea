/**
 * Every example under examples/ runs here (CI runs the suite), at its default size or a smaller
 * one named in the test, and what it claims is checked: conservation of the ledger, files written
 * and decodable, the guided models' decoy share below the plain ones'.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readPng } from '../../node/index.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The examples this file runs; a new example without a test here fails the first test. */
const COVERED = ['explanation-guided.ts', 'transformer-relevance.ts', 'vit-decoy-egl.ts', 'vit-image-relevance.ts'];

describe('examples', function () {
  this.timeout(300_000);
  let out: string;
  before(() => {
    out = mkdtempSync(join(tmpdir(), 'lrp-tape-examples-'));
  });
  after(() => rmSync(out, { recursive: true, force: true }));

  it('every example under examples/ is run by this spec', () => {
    const present = readdirSync(join(ROOT, 'examples')).filter((f) => f.endsWith('.ts')).sort();
    expect(present).to.deep.equal([...COVERED].sort());
  });

  it('transformer-relevance: the sentence in terminal colours and as an HTML page with every token', async () => {
    const { run } = await import('../../examples/transformer-relevance.js');
    const page = join(out, 'tokens.html');
    const lines = run({ htmlPath: page });
    const words = ['the', 'film', 'was', 'not', 'bad', 'at', 'all'];
    // The terminal line colours at least the strongest token (256-colour background escape).
    expect(lines[0]).to.match(/\x1b\[48;5;\d+m\w+\x1b\[0m/);
    const html = readFileSync(page, 'utf8');
    expect(html.startsWith('<!doctype html>')).to.equal(true);
    expect(html.trimEnd().endsWith('</html>')).to.equal(true);
    for (const w of words) expect(html).to.include(`>${w}</span>`);
    // The table holds one normalised number per token, the largest magnitude being 1.
    const numbers = [...html.matchAll(/<td>(-?\d\.\d{3})<\/td>/g)].map((m) => Number(m[1]));
    expect(numbers).to.have.length(words.length);
    expect(Math.max(...numbers.map(Math.abs))).to.equal(1);
    expect(lines.at(-1)).to.equal(`wrote ${page}`);
  });

  it('vit-image-relevance: a trained ViT, conserving ledger, patch and pixel heatmaps as PNGs', async () => {
    const { run } = await import('../../examples/vit-image-relevance.js');
    const r = run({ out: join(out, 'vit'), epochs: 3, count: 4 });
    // 10 classes: a model that learned nothing is at 10%.
    expect(r.heldOutAccuracy).to.be.above(0.5);
    expect(r.digits).to.have.length(4);
    for (const [i, d] of r.digits.entries()) {
      // Everything the ledger accounts for plus the pixels adds up to the seed (the logit).
      const accounted = d.pixels + d.bias + d.softmax + d.tokens + d.stabilizer + d.unaccounted;
      expect(Math.abs(accounted - d.logit)).to.be.below(1e-4 * Math.abs(d.logit));
      expect(Math.abs(d.unaccounted)).to.be.below(1e-5 * Math.abs(d.logit));
      expect(r.pixelMaps[i]!).to.have.length(64);
      expect(r.patchMaps[i]!).to.have.length(16);
      expect([...r.pixelMaps[i]!, ...r.patchMaps[i]!].every(Number.isFinite)).to.equal(true);
      expect(r.pixelMaps[i]!.some((v) => v !== 0)).to.equal(true);
    }
    expect(r.files.map((f) => f.split('/').at(-1))).to.deep.equal(['vit-digits-grid.png', 'vit-digit-0-patches.png', 'vit-digit-0-pixels.png']);
    const gridPng = readPng(r.files[0]!);
    // 3 columns and 4 rows of 128 px cells, 4 px padding and margin.
    expect([gridPng.width, gridPng.height]).to.deep.equal([3 * 128 + 2 * 4 + 2 * 4, 4 * 128 + 3 * 4 + 2 * 4]);
    const patches = readPng(r.files[1]!);
    expect([patches.width, patches.height]).to.deep.equal([128, 128]);
    // The patch heatmap is constant over each 32x32 block (one colour per 2x2-pixel patch).
    const px = (x: number, y: number): string => Array.from(patches.data.subarray((y * 128 + x) * patches.channels, (y * 128 + x) * patches.channels + 3)).join(',');
    for (let by = 0; by < 4; by++) for (let bx = 0; bx < 4; bx++) expect(px(bx * 32 + 31, by * 32 + 31)).to.equal(px(bx * 32, by * 32));
  });

  it('vit-decoy-egl: the plain ViT takes the decoy shortcut, the guided one puts less relevance there', async () => {
    const { run, QUICK } = await import('../../examples/vit-decoy-egl.js');
    const r = run(QUICK);
    expect(r.plain.decoyShare.consistent).to.be.above(3 * r.maskFraction);
    expect(r.plain.accuracy.consistent - r.plain.accuracy.randomised).to.be.above(0.3);
    expect(r.guided.decoyShare.consistent).to.be.below(r.plain.decoyShare.consistent / 3);
    expect(r.guided.decoyShare.randomised).to.be.below(r.plain.decoyShare.randomised);
  });

  it('explanation-guided (CNN): the contrastive seed leaves the decoy, the plain model follows it', () => {
    const stdout = execFileSync(process.execPath, ['--import', 'tsx', join(ROOT, 'examples', 'explanation-guided.ts')], {
      cwd: ROOT,
      env: { ...process.env, STEPS: '150' },
      encoding: 'utf8',
    });
    const results = [...stdout.matchAll(/decoy shuffled ([\d.]+)%; decoy share of \|R\| on the shuffled set ([\d.]+)%/g)].map((m) => ({ shuffled: Number(m[1]) / 100, share: Number(m[2]) / 100 }));
    expect(results, stdout).to.have.length(3);
    const [plain, oneHot, contrastive] = results as [{ shuffled: number; share: number }, { shuffled: number; share: number }, { shuffled: number; share: number }];
    expect(oneHot.share).to.be.below(plain.share);
    expect(contrastive.share).to.be.below(plain.share / 3);
    expect(contrastive.shuffled).to.be.above(plain.shuffled + 0.2);
  });
});
