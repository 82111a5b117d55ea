/**
 * `lrp-tape evaluate` without the (slow) demo training: every bad option is one line and the
 * usage status before anything is trained or written; the JSON and the report are built from an
 * evaluation of a tiny model.
 */
import { expect } from 'chai';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from '../../engine/index.js';
import { Sequential, Linear, Flatten } from '../../nn/index.js';
import * as V from '../../evaluation/index.js';
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
    [['--images', '-3'], "--images must be a positive integer, got '-3'"],
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
    const html = evaluationHtml({ plain: ev }, { images: 5, testSet: 'consistent', patch: 1, steps: 4, baseline: 'zero' });
    expect(html.match(/<polyline/g)).to.have.length(4);
    expect(html).to.contain('pixel_flipping_lerf_auc');
  });
});
