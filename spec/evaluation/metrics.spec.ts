/**
 * The evaluation metrics on models small enough that the answer is known by hand: a bias-free
 * linear model (gradient x input is the exact contribution of each pixel), known rank orders,
 * known Gini indices.
 */
import { expect } from 'chai';
import * as E from '../../engine/index.js';
import type { Tensor } from '../../engine/index.js';
import { Sequential, Linear, Flatten, ReLU, Conv2d, BatchNorm2d } from '../../nn/index.js';
import { compositeFromSpec } from '../../composites/index.js';
import { recordForward, oneHotSeed } from '../../attribution/index.js';
import { canonize, canonizerFrom } from '../../canonizers/index.js';
import * as V from '../../evaluation/index.js';

const f64 = 'float64' as const;

/** Flatten -> Linear(C*H*W -> classes) without bias, float64. */
function linearModel(C: number, H: number, W: number, classes: number, seed: number): Sequential {
  return new Sequential(new Flatten(), new Linear(C * H * W, classes, { bias: false, dtype: f64, rng: new E.Rng(seed) }));
}
const images = (n: number, C: number, H: number, W: number, seed: number): Tensor => E.randn([n, C, H, W], { dtype: f64, rng: new E.Rng(seed) });

describe('evaluation: statistics', () => {
  it('ranks average ties, Spearman matches hand-computed values', () => {
    expect(Array.from(V.ranks([10, 20, 20, 5]))).to.deep.equal([2, 3.5, 3.5, 1]);
    // d = (0, 1, -1, 0): rho = 1 - 6 * 2 / (4 * 15) = 0.8
    expect(V.spearman([1, 2, 3, 4], [1, 3, 2, 4])).to.be.closeTo(0.8, 1e-12);
    expect(V.spearman([1, 2, 3, 4], [40, 30, 20, 10])).to.be.closeTo(-1, 1e-12);
    // Monotone transforms do not change rank correlation.
    expect(V.spearman([0.1, 5, 2, 7], [Math.exp(0.1), Math.exp(5), Math.exp(2), Math.exp(7)])).to.be.closeTo(1, 1e-12);
    expect(V.spearman([1, 1, 1], [1, 2, 3])).to.be.NaN;
  });

  it('Gini index of known vectors', () => {
    expect(V.gini([0, 0, 0, 1])).to.be.closeTo(3 / 4, 1e-12);
    expect(V.gini([2, -2, 2, -2])).to.be.closeTo(0, 1e-12);
    // sorted 1..4: 2 * (1 + 4 + 9 + 16) / (4 * 10) - 5 / 4 = 0.25
    expect(V.gini([4, 1, 3, 2])).to.be.closeTo(0.25, 1e-12);
    expect(V.gini([0, 0, 0])).to.equal(0);
  });

  it('area under a curve and the 95% interval of a mean', () => {
    expect(V.auc([1, 0])).to.equal(0.5);
    expect(V.auc([1, 1, 0])).to.equal(0.75);
    const s = V.summarize([1, 2, 3]);
    expect(s.mean).to.equal(2);
    // sd 1, t(0.975, 2 dof) = 4.303
    expect(s.high - s.mean).to.be.closeTo(4.303 / Math.sqrt(3), 1e-12);
    expect(s.mean - s.low).to.be.closeTo(4.303 / Math.sqrt(3), 1e-12);
  });
});

describe('evaluation: pixel flipping on a linear model', () => {
  const [C, H, W] = [2, 3, 4];
  const model = linearModel(C, H, W, 3, 1);
  const x = images(5, C, H, W, 2);
  const targets = [0, 1, 2, 0, 1];

  it('gradient x input is each pixel\'s exact contribution: the MoRF logit curve drops by the top-k contributions', () => {
    const rel = V.gradientTimesInputMethod().explain(model, x, targets);
    const P = H * W;
    const res = V.pixelFlipping(model, x, targets, rel, { steps: P, score: 'logit', baseline: 'zero', patch: 1 });
    const w = (model.getModule('1') as Linear).weight.data;
    for (let i = 0; i < 5; i++) {
      // Contribution of pixel p (both channels) to the target logit.
      const contrib = Array.from({ length: P }, (_, p) => {
        let s = 0;
        for (let c = 0; c < C; c++) s += w[targets[i]! * C * P + c * P + p]! * x.data[i * C * P + c * P + p]!;
        return s;
      });
      const logit = contrib.reduce((a, b) => a + b, 0);
      const desc = [...contrib].sort((a, b) => b - a);
      let left = logit;
      for (let k = 0; k <= P; k++) {
        expect(res.morf[i]![k]).to.be.closeTo(left, 1e-9);
        if (k < P) left -= desc[k]!;
      }
      // LeRF removes the smallest contributions first; both end at the empty image (logit 0).
      expect(res.lerf[i]![0]).to.be.closeTo(logit, 1e-9);
      expect(res.lerf[i]![P]).to.be.closeTo(0, 1e-12);
      expect(res.gap[i]).to.be.closeTo(res.lerfAuc[i]! - res.morfAuc[i]!, 1e-15);
    }
  });

  it('for a linear model the exact ranking has the largest gap; a random ranking\'s mean gap is near zero', () => {
    const xs = images(200, C, H, W, 3);
    const ts = Array.from({ length: 200 }, (_, i) => i % 3);
    const exact = V.pixelFlipping(model, xs, ts, V.gradientTimesInputMethod().explain(model, xs, ts), { steps: 12, score: 'logit' });
    const rnd = V.pixelFlipping(model, xs, ts, V.randomMethod(7).explain(model, xs, ts), { steps: 12, score: 'logit' });
    for (let i = 0; i < 200; i++) expect(exact.gap[i]).to.be.at.least(rnd.gap[i]! - 1e-12);
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    const exactGap = mean(exact.gap);
    expect(exactGap).to.be.greaterThan(0.5);
    const r = V.summarize(rnd.gap);
    expect(r.low).to.be.lessThan(0);
    expect(r.high).to.be.greaterThan(0);
    expect(Math.abs(r.mean)).to.be.lessThan(0.1 * exactGap);
  });

  it('patches are replaced together, and every curve ends at the full baseline image', () => {
    const rel = V.gradientTimesInputMethod().explain(model, x, targets);
    for (const baseline of V.BASELINES) {
      const res = V.pixelFlipping(model, x, targets, rel, { steps: 3, patch: 2, baseline, score: 'logit', batchSize: 7 });
      for (let i = 0; i < 5; i++) expect(res.morf[i]![3]).to.be.closeTo(res.lerf[i]![3]!, 1e-12);
    }
    // A 3x4 image in 2x2 patches: 2 rows x 2 columns of patches, ordered by summed relevance.
    const r = new Float64Array(12);
    r[0] = 5; // patch 0 (rows 0-1, cols 0-1)
    r[11] = 9; // patch 3 (row 2, cols 2-3)
    r[2] = -1; // patch 1
    expect(Array.from(V.patchOrder(r, 1, 3, 4, 2))).to.deep.equal([3, 0, 2, 1]);
  });

  it('baselines: zero, the per-channel mean, a blur that keeps constants, uniform noise within the image range', () => {
    const img = [1, 2, 3, 4, 10, 10, 10, 10]; // 2 channels of 2x2
    expect(Array.from(V.baselineImage(img, 2, 2, 2, 'zero'))).to.deep.equal([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(Array.from(V.baselineImage(img, 2, 2, 2, 'mean'))).to.deep.equal([2.5, 2.5, 2.5, 2.5, 10, 10, 10, 10]);
    const blur = V.baselineImage(img, 2, 2, 2, 'blur', { blurSigma: 1 });
    for (let p = 4; p < 8; p++) expect(blur[p]).to.be.closeTo(10, 1e-12);
    expect(blur[0]).to.be.greaterThan(1).and.lessThan(4);
    const u = V.baselineImage(img, 2, 2, 2, 'uniform', { rng: new E.Rng(1) });
    for (const v of u) expect(v).to.be.within(1, 10);
  });

  it('the probability score is the softmax of the target', () => {
    const rel = V.randomMethod().explain(model, x, targets);
    const res = V.pixelFlipping(model, x, targets, rel, { steps: 2 });
    const p = E.softmax(model.call(x).detach(), 1);
    for (let i = 0; i < 5; i++) expect(res.morf[i]![0]).to.be.closeTo(p.data[i * 3 + targets[i]!]!, 1e-12);
  });
});

describe('evaluation: localisation, conservation, randomisation', () => {
  it('relevance mass accuracy counts positive relevance only, with a shared or per-image mask', () => {
    const rel = new E.Tensor(Float64Array.from([3, -5, 1, 0, /* image 2 */ 0, 0, 0, 0]), [2, 1, 2, 2]);
    expect(V.relevanceMassAccuracy(rel, [1, 1, 0, 0])).to.deep.equal([0.75, 0]);
    expect(V.relevanceMassAccuracy(rel, [0, 0, 1, 1, 1, 1, 1, 1])).to.deep.equal([0.25, 0]);
    // Channels are summed before anything else: +2 and -2 on one pixel cancel.
    const two = new E.Tensor(Float64Array.from([2, 1, 0, 0, -2, 0, 0, 1]), [1, 2, 2, 2]);
    expect(V.relevanceMassAccuracy(two, [1, 0, 0, 0])).to.deep.equal([0]);
    expect(V.sparseness(two)[0]).to.be.closeTo(V.gini([0, 1, 0, 1]), 1e-15);
  });

  it('conservation: Epsilon on a bias-free linear model gives input relevance = target logit, per image and per layer', () => {
    const model = linearModel(1, 2, 2, 3, 4);
    const x = images(3, 1, 2, 2, 5);
    const comp = compositeFromSpec({ name: 'epsilon_plus', args: { epsilon: 1e-12 } });
    const res = V.conservation(model, x, [2, 0, 1], comp);
    const logits = model.call(x).detach();
    res.perImage.forEach((r, i) => {
      expect(r.output).to.be.closeTo(logits.data[i * 3 + [2, 0, 1][i]!]!, 1e-12);
      expect(r.ratio).to.be.closeTo(1, 1e-9);
    });
    const dense = res.layers.find((l) => l.rule === 'Epsilon')!;
    expect(dense.ratio).to.be.closeTo(1, 1e-9);
  });

  it('cascading randomisation: top layer first, parameters restored bit for bit, an input-only map stays perfectly correlated', () => {
    const rng = new E.Rng(6);
    const model = new Sequential(new Conv2d(1, 2, 3, { padding: 1, dtype: f64, rng }), new ReLU(), new Flatten(), new Linear(2 * 16, 3, { dtype: f64, rng }));
    const x = images(4, 1, 4, 4, 7);
    const before = [...model.stateDict()].map(([k, t]) => [k, Array.from(t.data)] as const);
    const inputOnly: V.AttributionMethod = { name: 'input', explain: (_m, xx) => xx.detach() };
    const res = V.cascadingRandomisation(model, x, [0, 1, 2, 0], inputOnly);
    expect(res.layers).to.deep.equal(['3', '0']);
    for (const row of res.spearman) for (const v of row) expect(v).to.be.closeTo(1, 1e-12);
    const grad = V.cascadingRandomisation(model, x, [0, 1, 2, 0], V.gradientMethod(), { seed: 1 });
    expect(grad.spearman).to.have.length(2);
    // The gradient of a fully random model is unrelated to the trained one's in general: not identical.
    expect(grad.spearman[1]!.some((v) => Math.abs(v) < 0.99)).to.equal(true);
    const after = [...model.stateDict()].map(([k, t]) => [k, Array.from(t.data)] as const);
    expect(after).to.deep.equal(before);
  });

  it('evaluateMethods: every requested metric per method, with summaries and curves', () => {
    const model = linearModel(1, 4, 4, 3, 8);
    const x = images(6, 1, 4, 4, 9);
    const masks = new Float32Array(16).fill(0);
    masks[0] = 1;
    const ev = V.evaluateMethods(model, { x, targets: [0, 1, 2, 0, 1, 2], masks }, [V.gradientTimesInputMethod(), V.randomMethod()], {
      metrics: ['pixel_flipping_gap', 'relevance_mass_accuracy', 'randomisation_spearman_last', 'sparseness'],
      perturbation: { steps: 4 },
      batchSize: 4,
    });
    expect(Object.keys(ev.methods)).to.deep.equal(['gradient_x_input', 'random']);
    for (const m of Object.values(ev.methods)) {
      expect(Object.keys(m.metrics)).to.have.members(['pixel_flipping_gap', 'relevance_mass_accuracy', 'randomisation_spearman_last', 'sparseness']);
      for (const v of Object.values(m.metrics)) expect(v!.values).to.have.length(6);
      expect(m.curves!.morf).to.have.length(5);
    }
  });
});

describe('evaluation: methods by name', () => {
  it('a composite with canonizers explains the canonized view, built anew per call so swapped parameters count', () => {
    const rng = new E.Rng(11);
    const model = new Sequential(new Conv2d(2, 3, 3, { padding: 1, dtype: f64, rng }), new BatchNorm2d(3, { dtype: f64 }), new ReLU(), new Flatten(), new Linear(3 * 16, 3, { dtype: f64, rng }));
    const bn = model.getModule('1') as BatchNorm2d;
    bn.weight!.data.set([1.5, 0.5, 2]);
    bn.bias!.data.set([0.1, -0.2, 0.3]);
    bn.runningMean.data.set([0.2, -0.1, 0]);
    bn.runningVar.data.set([2, 0.5, 1]);
    model.eval();
    const x = images(2, 2, 4, 4, 12);
    const targets = [0, 2];
    const method = V.methodFromName('epsilon_plus_flat', {}, ['sequential_merge_batchnorm']);
    const byName = method.explain(model, x, targets);
    const composite = compositeFromSpec({ name: 'epsilon_plus_flat', args: {}, canonizers: [] });
    const direct = recordForward(canonize(model, [canonizerFrom('sequential_merge_batchnorm')]), x).attribute((o) => oneHotSeed(o, targets), { composite }).relevance;
    expect(Array.from(byName.data)).to.deep.equal(Array.from(direct.data));
    const plain = V.methodFromName('epsilon_plus_flat').explain(model, x, targets);
    expect(Array.from(plain.data)).to.not.deep.equal(Array.from(byName.data));
    // After the batch norm's parameters change, the same method follows them.
    model.loadStateDict(new Map([['1.weight', new E.Tensor(new Float64Array([3, 1, 0.5]), [3])]]), { strict: false });
    const after = method.explain(model, x, targets);
    const directAfter = recordForward(canonize(model, [canonizerFrom('sequential_merge_batchnorm')]), x).attribute((o) => oneHotSeed(o, targets), { composite }).relevance;
    expect(Array.from(after.data)).to.deep.equal(Array.from(directAfter.data));
    expect(Array.from(after.data)).to.not.deep.equal(Array.from(byName.data));
  });
});

describe('evaluation: bad input', () => {
  const model = linearModel(1, 2, 2, 3, 1);
  const x = images(2, 1, 2, 2, 1);
  const rel = V.randomMethod().explain(model, x, [0, 0]);
  it('names the problem: target out of range, wrong mask, unknown metric and method, wrong image or relevance shape', () => {
    expect(() => V.pixelFlipping(model, x, [0, 3], rel)).to.throw(V.EvaluationError, 'target 3 of image 1 is out of range: the model has 3 classes (0..2)');
    expect(() => V.relevanceMassAccuracy(rel, [1, 0, 1])).to.throw(V.EvaluationError, 'a mask of 3 values does not fit 2 images of 2x2');
    expect(() => V.relevanceMassAccuracy(rel, [1, 0, 2, 0])).to.throw(V.EvaluationError, 'a mask must hold 0 and 1 only, found 2 at position 2');
    expect(() => V.evaluateMethods(model, { x, targets: [0, 1] }, [V.randomMethod()], { metrics: ['pixel_flipping_aucc'] })).to.throw(V.EvaluationConfigError, "unknown metric 'pixel_flipping_aucc'");
    expect(() => V.evaluateMethods(model, { x, targets: [0, 1] }, [V.randomMethod()], { metrics: ['relevance_mass_accuracy'] })).to.throw(V.EvaluationError, 'needs a mask');
    expect(() => V.methodFromName('lrp_magic')).to.throw(V.EvaluationConfigError, "unknown method 'lrp_magic'");
    expect(() => V.checkImages(x, { channels: 3 })).to.throw(V.EvaluationError, 'images have 1 channels, the model expects 3');
    expect(() => V.checkImages(x, { height: 5, width: 5 })).to.throw(V.EvaluationError, 'images are 2x2, the model expects 5x5');
    expect(() => V.pixelFlipping(model, E.reshape(x, [2, 4]), [0, 1], rel)).to.throw(V.EvaluationError, 'images must be a [N, C, H, W] tensor, got shape [2, 4]');
    expect(() => V.pixelFlipping(model, x, [0, 1], E.reshape(rel, [2, 1, 4, 1]))).to.throw(V.EvaluationError, 'does not match the images');
    const rgb = images(2, 3, 2, 2, 1);
    expect(() => V.pixelFlipping(model, rgb, [0, 1], V.randomMethod().explain(model, rgb, [0, 1]))).to.throw(V.EvaluationError, 'images of shape [2, 3, 2, 2] do not fit the model');
    const big = images(2, 1, 3, 3, 1);
    expect(() => V.evaluateMethods(model, { x: big, targets: [0, 1] }, [V.randomMethod()], { metrics: ['sparseness'] })).to.throw(V.EvaluationError, 'images of shape [2, 1, 3, 3] do not fit the model');
    expect(() => V.pixelFlipping(model, x, [0, 1], rel, { baseline: 'grey' as never })).to.throw(V.EvaluationConfigError, "unknown baseline 'grey'");
  });
});
