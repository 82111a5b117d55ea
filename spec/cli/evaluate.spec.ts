/**
 * `lrp-tape evaluate` without the (slow) demo training: every bad option is one line and the
 * usage status before anything is trained or written; the JSON and the report are built from an
 * evaluation of a tiny model.
 */
import { expect } from 'chai';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from '../../engine/index.js';
import { Sequential, Linear, Flatten } from '../../nn/index.js';
import * as V from '../../evaluation/index.js';
import { buildFromSpec } from '../../models/index.js';
import { writePng, writeStateDictFile } from '../../node/index.js';
import { run } from '../../cli/main.js';
import { evaluationJson } from '../../cli/evaluate.js';
import { evaluationHtml } from '../../cli/evaluate-report.js';

async function cli(args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await run(['node', 'lrp-tape', 'evaluate', ...args], { stdout: (l) => out.push(l), stderr: (l) => err.push(l) });
  return { code, out, err };
}

describe('lrp-tape evaluate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lrp-tape-eval-'));
  const cache = join(dir, 'cache');
  const cases: [string[], string][] = [
    [['--metrics', 'pixel_flipping_aucc'], "unknown metric 'pixel_flipping_aucc'"],
    [['--methods', 'epsilon,gradient'], "unknown method 'epsilon'"],
    [['--baseline', 'grey'], "unknown baseline 'grey'"],
    [['--patch', '0'], "--patch must be a positive integer, got '0'"],
    [['--steps', 'many'], "--steps must be a positive integer, got 'many'"],
    [['--limit', '-3'], "--limit must be a positive integer, got '-3'"],
    [['--model', 'resnet18'], "--model needs --images DIR"],
    [['--masks', 'm', '--target', '1'], "--masks, --target need --images DIR"],
    [['--test-set', 'train'], "--test-set must be 'consistent' or 'randomised', got 'train'"],
  ];
  for (const [args, msg] of cases) {
    it(`rejects ${args.join(' ')} in one line before training anything`, async () => {
      const r = await cli([...args, '--cache', cache, '--json', '--no-progress']);
      expect(r.code).to.equal(2);
      expect(r.out).to.deep.equal([]);
      expect(r.err).to.have.length(1);
      expect(r.err[0]).to.contain('lrp-tape evaluate: error:').and.contain(msg);
      expect(existsSync(cache)).to.equal(false);
    });
  }

  it('the JSON has models -> method -> metric -> {mean, low, high}; the report plots one MoRF and one LeRF curve per method', () => {
    const model = new Sequential(new Flatten(), new Linear(16, 3, { dtype: 'float64', rng: new E.Rng(1) }));
    const x = E.randn([5, 1, 4, 4], { dtype: 'float64', rng: new E.Rng(2) });
    const ev = V.evaluateMethods(model, { x, targets: [0, 1, 2, 0, 1] }, [V.gradientMethod(), V.randomMethod()], { metrics: ['pixel_flipping_morf_auc', 'pixel_flipping_lerf_auc'], perturbation: { steps: 4 } });
    const json = evaluationJson({ plain: ev, guided: ev });
    expect(Object.keys(json)).to.deep.equal(['models']);
    expect(Object.keys(json.models)).to.deep.equal(['plain', 'guided']);
    const g = json.models.plain!.gradient!.pixel_flipping_morf_auc!;
    expect(Object.keys(g)).to.deep.equal(['mean', 'low', 'high']);
    expect(g.mean).to.equal(ev.methods.gradient!.metrics.pixel_flipping_morf_auc!.summary.mean);
    expect(g.low).to.be.at.most(g.mean);
    expect(g.high).to.be.at.least(g.mean);
    const html = evaluationHtml({ plain: ev }, { description: '5 images', target: 'the true class', patch: 1, steps: 4, baseline: 'zero' });
    expect(html.match(/<polyline/g)).to.have.length(4);
    expect(html).to.contain('pixel_flipping_lerf_auc');
  });
});

describe('lrp-tape evaluate --images (a folder of PNGs)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lrp-tape-eval-images-'));
  const cache = join(dir, 'never-trained');
  const spec = (inChannels: number, side: number) => ({
    type: 'Sequential',
    children: [
      ['0', { type: 'Conv2d', in_channels: inChannels, out_channels: 2, kernel_size: [3, 3], stride: 1, padding: 1 }],
      ['1', { type: 'ReLU' }],
      ['2', { type: 'Flatten', start_dim: 1 }],
      ['3', { type: 'Linear', in_features: 2 * side * side, out_features: 3 }],
    ],
  });
  const rgb = (w: number, h: number, seed: number) => {
    const rng = new E.Rng(seed);
    return { width: w, height: h, channels: 3 as const, data: Uint8Array.from({ length: w * h * 3 }, () => Math.floor(256 * rng.uniform())) };
  };
  const grey = (w: number, h: number, v: (p: number) => number) => ({ width: w, height: h, channels: 3 as const, data: Uint8Array.from({ length: w * h * 3 }, (_, i) => v(Math.floor(i / 3))) });
  const folder = (name: string, images: Record<string, ReturnType<typeof rgb>>) => {
    const d = join(dir, name);
    mkdirSync(d);
    for (const [f, img] of Object.entries(images)) writePng(join(d, f), img);
    return d;
  };
  const modelFiles = (name: string, inChannels: number, side: number) => {
    const json = join(dir, `${name}.json`);
    writeFileSync(json, JSON.stringify(spec(inChannels, side)));
    const weights = join(dir, `${name}.safetensors`);
    writeStateDictFile(weights, buildFromSpec(spec(inChannels, side) as never, { rng: new E.Rng(5) }));
    return ['--model', json, '--weights', weights];
  };
  const tiny = modelFiles('tiny', 3, 8);
  const imgs = folder('imgs', { 'a.png': rgb(8, 8, 1), 'b.png': rgb(8, 8, 2), 'c.png': rgb(8, 8, 3) });
  const base = ['--images', imgs, ...tiny, '--methods', 'gradient,random', '--steps', '4', '--cache', cache, '--no-progress'];

  it('evaluates the model on the folder: JSON keyed by the model name, relevance_mass_accuracy left out with a note when there are no masks', async () => {
    const r = await cli([...base, '--json']);
    expect(r.err).to.deep.equal(['note: no --masks given, so relevance_mass_accuracy is left out']);
    expect(r.code).to.equal(0);
    const json = JSON.parse(r.out[0]!) as { models: Record<string, Record<string, Record<string, { mean: number }>>> };
    expect(Object.keys(json.models)).to.deep.equal(['tiny']);
    expect(Object.keys(json.models.tiny!)).to.deep.equal(['gradient', 'random']);
    expect(Object.keys(json.models.tiny!.gradient!)).to.deep.equal(['pixel_flipping_morf_auc', 'pixel_flipping_lerf_auc', 'pixel_flipping_gap', 'randomisation_spearman_last', 'sparseness']);
    expect(existsSync(cache)).to.equal(false);
  });

  it('masks: all white puts all positive relevance inside (1), all black none (0); the report has curves and heatmaps', async () => {
    const white = folder('white', { 'a.png': grey(8, 8, () => 255), 'b.png': grey(8, 8, () => 255), 'c.png': grey(8, 8, () => 255) });
    const black = folder('black', { 'a.png': grey(8, 8, () => 0), 'b.png': grey(8, 8, () => 0), 'c.png': grey(8, 8, () => 0) });
    const html = join(dir, 'report.html');
    const r = await cli([...base, '--masks', white, '--metrics', 'relevance_mass_accuracy,pixel_flipping_gap', '--html', html, '--json']);
    expect(r.code, r.err.join('\n')).to.equal(0);
    const json = JSON.parse(r.out[0]!) as { models: Record<string, Record<string, Record<string, { mean: number; low: number; high: number }>>> };
    expect(json.models.tiny!.random!.relevance_mass_accuracy).to.deep.equal({ mean: 1, low: 1, high: 1 });
    const page = readFileSync(html, 'utf8');
    expect(page.match(/<polyline/g)).to.have.length(4);
    expect(page).to.contain('3 images from').and.contain('<img src="data:image/png;base64,');
    const b = await cli([...base, '--masks', black, '--metrics', 'relevance_mass_accuracy', '--json']);
    expect((JSON.parse(b.out[0]!) as typeof json).models.tiny!.random!.relevance_mass_accuracy).to.deep.equal({ mean: 0, low: 0, high: 0 });
  });

  const bad: [string, () => string[], string, number][] = [
    ['images of two sizes', () => ['--images', folder('mixed', { 'a.png': rgb(8, 8, 1), 'b.png': rgb(9, 8, 2) }), ...tiny], "the images must come out one size: '", 3],
    ['images of the wrong size for the model', () => ['--images', folder('big', { 'a.png': rgb(10, 10, 1) }), ...tiny], 'the images (10x10, 3 channels, from', 3],
    ['a model that wants one channel', () => ['--images', imgs, ...modelFiles('mono', 1, 8)], 'images are read as RGB (3 channels)', 3],
    ['a file that is not a PNG as --images', () => ['--images', join(dir, 'tiny.json'), ...tiny], "tiny.json' is not a PNG or JPEG file", 3],
    ['a file that is not an image', () => {
      const d = folder('notimg', { 'a.png': rgb(8, 8, 1) });
      writeFileSync(join(d, 'b.png'), 'hello');
      return ['--images', d, ...tiny];
    }, "input '", 3],
    ['a target out of range', () => ['--images', imgs, ...tiny, '--target', '3'], 'target 3 is out of range: the model has 3 outputs (0..2)', 2],
    ['a mask of the wrong shape', () => ['--images', imgs, ...tiny, '--masks', folder('small-masks', { 'a.png': grey(6, 6, () => 0), 'b.png': grey(6, 6, () => 0), 'c.png': grey(6, 6, () => 0) })], 'is 6x6; the images are 8x8', 3],
    ['a mask with grey pixels', () => ['--images', imgs, ...tiny, '--masks', folder('grey-masks', { 'a.png': grey(8, 8, (p) => (p === 9 ? 128 : 0)), 'b.png': grey(8, 8, () => 0), 'c.png': grey(8, 8, () => 0) })], 'holds 128 at row 1, column 1', 3],
    ['a missing mask', () => ['--images', imgs, ...tiny, '--masks', folder('two-masks', { 'a.png': grey(8, 8, () => 0), 'b.png': grey(8, 8, () => 0) })], "no mask for image '", 4],
    ['relevance_mass_accuracy asked for without masks', () => ['--images', imgs, ...tiny, '--metrics', 'relevance_mass_accuracy'], 'relevance_mass_accuracy needs --masks DIR', 2],
    ['an unknown metric', () => ['--images', imgs, ...tiny, '--metrics', 'continuity'], "unknown metric 'continuity'", 2],
    ['--test-set with a folder', () => ['--images', imgs, ...tiny, '--test-set', 'randomised'], '--test-set picks one of the demo', 2],
  ];
  for (const [what, args, msg, code] of bad) {
    it(`${what}: one line, status ${code}, no report written`, async () => {
      const html = join(dir, `${what.replace(/\W+/g, '-')}.html`);
      const r = await cli([...args(), '--html', html, '--cache', cache, '--no-progress', '--json']);
      expect(r.err, r.err.join('\n')).to.have.length(1);
      expect(r.err[0]).to.contain('lrp-tape evaluate: error:').and.contain(msg);
      expect(r.code).to.equal(code);
      expect(r.out).to.deep.equal([]);
      expect(existsSync(html)).to.equal(false);
      expect(existsSync(cache)).to.equal(false);
    });
  }
});
