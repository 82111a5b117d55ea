import { expect } from 'chai';
import { engine as E, models, canonizers, composites, attribution } from '../index.js';

/** The README's example, on a small ResNet so it runs in the suite: it must keep working. */
describe('README example', () => {
  it('explains a canonized ResNet from one recording and differentiates the relevance w.r.t. the weights', () => {
    const model = new models.ResNet({ block: 'BasicBlock', layers: [1, 1, 1, 1], planes: [8, 8, 8, 8], numClasses: 5, rng: new E.Rng(1) });
    model.eval();
    const view = canonizers.canonize(model, [canonizers.resnetCanonizer()]);
    const x = E.randn([1, 3, 32, 32], { rng: new E.Rng(2) });
    const rec = attribution.recordForward(view, x);
    const seed = attribution.oneHotSeed(rec.output, [3]);
    const { relevance } = rec.attribute(seed, { composite: composites.epsilonPlusFlat() });
    const { relevance: gradient } = rec.attribute(seed);
    expect(relevance.shape).to.deep.equal([1, 3, 32, 32]);
    expect(relevance.toArray()).to.not.deep.equal(gradient.toArray());
    const r = rec.attribute(seed, { composite: composites.epsilonPlusFlat(), createGraph: true }).relevance;
    const grads = E.grad(E.sum(E.mul(r, r)), model.parameters(), { allowUnused: true });
    expect(grads.filter((g) => g !== null).length).to.be.greaterThan(10);
    expect(grads.every((g) => g === null || g.toArray().every(Number.isFinite))).to.equal(true);
  });
});
