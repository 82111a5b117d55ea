import { expect } from 'chai';
import * as E from '../../engine/index.js';
import type { Tensor } from '../../engine/index.js';
import { gradientAttribution, integratedGradients, occlusion, smoothGrad, oneHotSeed } from '../../attribution/index.js';

const f64 = { dtype: 'float64' as const };
const W = E.tensor([[1, -2, 3], [0.5, 1, -1]], f64);
/** A linear model: integrated gradients of it are exactly x * w (completeness with a zero baseline). */
const linearModel = (x: Tensor): Tensor => E.matmul(x, W, { transB: true });

describe('attributors', () => {
  it('gradient with a one-hot seed is the weight row', () => {
    const x = E.tensor([[1, 2, 3]], f64);
    const seed = E.tensor([[0, 1]], f64);
    expect(gradientAttribution(linearModel, x, { seed }).relevance.toArray()).to.deep.equal([0.5, 1, -1]);
  });

  it('integrated gradients of a linear model is x * w and sums to f(x) - f(0)', () => {
    const x = E.tensor([[1, 2, 3]], f64);
    const seed = E.tensor([[1, 0]], f64);
    const { relevance } = integratedGradients(linearModel, x, { seed, nIter: 4 });
    expect(relevance.toArray()).to.deep.equal([1, -4, 9]);
  });

  it('smoothGrad with one sample is the noise-free gradient; with noise it is seeded and reproducible', () => {
    const model = (x: Tensor): Tensor => E.sum(E.mul(E.mul(x, x), x), [1], true);
    const x = E.tensor([[1, -2, 0.5]], f64);
    const seed = E.ones([1, 1], f64);
    expect(smoothGrad(model, x, { seed, nIter: 1 }).relevance.toArray()).to.deep.equal([3, 12, 0.75]);
    const a = smoothGrad(model, x, { seed, nIter: 5, rng: new E.Rng(1) }).relevance.toArray();
    const b = smoothGrad(model, x, { seed, nIter: 5, rng: new E.Rng(1) }).relevance.toArray();
    expect(a).to.deep.equal(b);
    expect(a).to.not.deep.equal([3, 12, 0.75]);
  });

  it('occlusion (reference mode) wraps windows around the border; clip mode does not', () => {
    // Score = sum of the kept inputs: each position collects the scores of every window covering it.
    const model = (x: Tensor): Tensor => E.sum(E.reshape(x, [x.shape[0]!, -1]), [1], true);
    const x = E.tensor([[[1, 2, 3, 4, 5]]], f64);
    const seed = (o: Tensor): Tensor => E.onesLike(o);
    const ref = occlusion(model, x, { window: 2, stride: 2, seed, mode: 'reference' }).relevance.toArray();
    // offsets 0, 2, 4: windows {0,1}, {2,3}, {4,0 (wrapped)} with scores 3, 7, 6
    expect(ref).to.deep.equal([9, 3, 7, 7, 6]);
    const clip = occlusion(model, x, { window: 2, stride: 2, seed, mode: 'clip' }).relevance.toArray();
    expect(clip).to.deep.equal([3, 3, 7, 7, 5]);
  });

  it('out-of-range targets and wrong seeds name the problem', () => {
    const out = E.zeros([2, 3], f64);
    expect(() => oneHotSeed(out, [0, 3])).to.throw(/target 3 \(batch item 1\) is out of range: the model has 3 outputs/);
    expect(() => gradientAttribution(linearModel, E.ones([1, 3], f64), { seed: E.ones([1, 3], f64) })).to.throw(/seed of shape \[1, 3\] does not match/);
  });
});
