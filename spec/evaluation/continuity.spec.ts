/**
 * The local Lipschitz estimate of continuity on models where it is known by hand: a bias-free
 * linear model (the gradient does not move at all; gradient x input moves by w * (x - x')), and a
 * ReLU at its kink, where the gradient jumps.
 */
import { expect } from 'chai';
import * as E from '../../engine/index.js';
import { Sequential, Linear, Flatten, ReLU } from '../../nn/index.js';
import * as V from '../../evaluation/index.js';

const f64 = 'float64' as const;

/** Flatten -> bias-free Linear(C*H*W -> classes) with the given weight rows. */
function linear(rows: number[][]): Sequential {
  const model = new Sequential(new Flatten(), new Linear(rows[0]!.length, rows.length, { bias: false, dtype: f64, rng: new E.Rng(0) }));
  (model.getModule('1') as Linear).weight.data.set(rows.flat());
  return model;
}

describe('evaluation: continuity (local Lipschitz estimate)', () => {
  const x = E.randn([4, 1, 2, 3], { dtype: f64, rng: new E.Rng(3) });
  const targets = [0, 1, 0, 1];

  it('the gradient of a linear model does not depend on the input: 0', () => {
    const model = linear([[1, -2, 3, -4, 5, -6], [0.5, 0.5, 0.5, 0.5, 0.5, 0.5]]);
    expect(V.localLipschitzEstimate(model, x, targets, V.gradientMethod())).to.deep.equal([0, 0, 0, 0]);
    expect(V.localLipschitzEstimate(model, x, targets, V.gradientMethod(), { relative: false })).to.deep.equal([0, 0, 0, 0]);
  });

  /** max |x| of each image: gradient x input's largest entry is c times it. */
  const maxAbs = Array.from({ length: 4 }, (_, i) => Math.max(...Array.from(x.data.subarray(6 * i, 6 * i + 6), Math.abs)));

  it('gradient x input of a linear model with weights of magnitude c: R(x) - R(x\') = w * (x - x\'), so exactly c, and c / (c max|x|) relative to the map', () => {
    const model = linear([[2, -2, 2, 2, -2, -2], [-0.5, 0.5, 0.5, -0.5, 0.5, 0.5]]);
    const raw = V.localLipschitzEstimate(model, x, targets, V.gradientTimesInputMethod(), { samples: 3, relative: false });
    [2, 0.5, 2, 0.5].forEach((c, i) => expect(raw[i]).to.be.closeTo(c, 1e-12));
    const rel = V.localLipschitzEstimate(model, x, targets, V.gradientTimesInputMethod(), { samples: 3 });
    maxAbs.forEach((m, i) => expect(rel[i]).to.be.closeTo(1 / m, 1e-12));
  });

  it('with weights of different magnitudes it lies strictly between the smallest and the largest', () => {
    const model = linear([[1, -2, 3, -4, 5, -6], [1, 1, 1, 1, 1, 1]]);
    const l = V.localLipschitzEstimate(model, x, [0, 0, 0, 0], V.gradientTimesInputMethod(), { samples: 5, relative: false });
    for (const v of l) expect(v).to.be.greaterThan(1).and.lessThan(6);
  });

  it('a ReLU at its kink: the gradient jumps from 0 to 1, the estimate is 1 / the smallest positive step; away from the kink 0', () => {
    // f(x) = (relu(x), -relu(x)) for one-pixel images; relu'(0) = 0 as in PyTorch.
    const model = new Sequential(new Flatten(), new Linear(1, 1, { bias: false, dtype: f64, rng: new E.Rng(0) }), new ReLU(), new Linear(1, 2, { bias: false, dtype: f64, rng: new E.Rng(0) }));
    (model.getModule('1') as Linear).weight.data.set([1]);
    (model.getModule('3') as Linear).weight.data.set([1, -1]);
    const at = (v: number) => new E.Tensor(new Float64Array([v]), [1, 1, 1, 1]);
    // A constant image has no range: the noise level itself (0.1) is the standard deviation.
    const rng = new E.Rng(7);
    const steps = Array.from({ length: 8 }, () => 0.1 * rng.normal());
    const positive = steps.filter((d) => d > 0);
    expect(positive.length).to.be.greaterThan(0);
    const expected = 1 / Math.min(...positive);
    const [l] = V.localLipschitzEstimate(model, at(0), [0], V.gradientMethod(), { samples: 8, seed: 7, relative: false });
    expect(l).to.be.closeTo(expected, 1e-9 * expected);
    // R(0) = 0, so relative to it any change is infinitely large.
    expect(V.localLipschitzEstimate(model, at(0), [0], V.gradientMethod(), { samples: 8, seed: 7 })).to.deep.equal([Infinity]);
    expect(V.localLipschitzEstimate(model, at(5), [0], V.gradientMethod(), { samples: 8 })).to.deep.equal([0]);
    expect(V.localLipschitzEstimate(model, at(-5), [0], V.gradientMethod(), { samples: 8 })).to.deep.equal([0]);
  });

  it('is a metric of evaluateMethods, one value per image; bad options are named', () => {
    const model = linear([[2, -2, 2, 2, -2, -2], [-0.5, 0.5, 0.5, -0.5, 0.5, 0.5]]);
    const ev = V.evaluateMethods(model, { x, targets }, [V.gradientTimesInputMethod()], { metrics: ['local_lipschitz_estimate'], continuity: { samples: 2 }, batchSize: 3 });
    const vs = ev.methods.gradient_x_input!.metrics.local_lipschitz_estimate!.values;
    maxAbs.forEach((m, i) => expect(vs[i]).to.be.closeTo(1 / m, 1e-12));
    expect(() => V.localLipschitzEstimate(model, x, targets, V.gradientMethod(), { samples: 0 })).to.throw(V.EvaluationConfigError, 'samples must be a positive integer, got 0');
    expect(() => V.localLipschitzEstimate(model, x, targets, V.gradientMethod(), { noiseLevel: -1 })).to.throw(V.EvaluationConfigError, 'noiseLevel must be a positive number, got -1');
    expect(() => V.localLipschitzEstimate(model, x, [0, 1, 2, 0], V.gradientMethod())).to.throw(V.EvaluationError, 'target 2 of image 2 is out of range');
  });
});
