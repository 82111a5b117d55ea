import { expect } from 'chai';
import * as E from '../../engine/index.js';
import type { Tensor } from '../../engine/index.js';
import * as R from '../../rules/index.js';
import { MapComposite } from '../../composites/index.js';
import { recordForward } from '../../attribution/index.js';
import { countForwards } from '../support/op-count.js';
import { Sequential, Conv2d, Linear, ReLU, Flatten, Module } from '../../nn/index.js';

class Square extends Module {
  override forward(t: Tensor): Tensor {
    return E.mul(t, t);
  }
}

const F64 = { dtype: 'float64' as const };

const bits = (t: Tensor): number[] => t.toArray();

describe('a rule term that is the layer itself reuses the recorded forward', () => {
  const rng = new E.Rng(21);
  const model = new Sequential(new Conv2d(3, 4, 3, { padding: 1, rng, ...F64 }), new ReLU(), new Flatten(), new Linear(64, 5, { rng, ...F64 }));
  const x = E.randn([2, 3, 4, 4], { ...F64, rng }).requireGrad();
  const seed = E.randn([2, 5], { ...F64, rng });

  for (const [label, rule, convCalls] of [
    ['Epsilon', () => R.epsilonRule({ epsilon: 0.1 }), 0],
    ['ZBox (its first term; the two bound terms still run)', () => R.zBoxRule({ low: -2, high: 2 }), 2],
  ] as const) {
    it(`${label}: an ordinary explanation equals the recorded template bit for bit, without re-running the layer`, () => {
      const composite = new MapComposite({ layerMap: [['Convolution', rule()], ['Dense', R.epsilonRule({ epsilon: 0.1 })]] });
      const rec = recordForward(model, x);
      const { result: plain, calls } = countForwards(E.conv2dOp, () => rec.attribute(seed, { composite }).relevance);
      expect(calls, 'conv forwards of the rule').to.equal(convCalls);
      const recorded = rec.attribute(seed, { composite, createGraph: true }).relevance.detach();
      expect(bits(plain)).to.deep.equal(bits(recorded));
      // The recorded graph is kept: the same recording explains again, with the same result.
      expect(bits(rec.attribute(seed, { composite }).relevance)).to.deep.equal(bits(plain));
    });
  }

  it('zeroed parameters are a modification: the term runs again (Epsilon with zeroParams bias)', () => {
    const composite = new MapComposite({ layerMap: [['Convolution', R.epsilonRule({ zeroParams: 'bias' })], ['Dense', R.epsilonRule()]] });
    const rec = recordForward(model, x);
    const { result: plain, calls } = countForwards(E.conv2dOp, () => rec.attribute(seed, { composite }).relevance);
    expect(calls).to.equal(1);
    expect(bits(plain)).to.deep.equal(bits(rec.attribute(seed, { composite, createGraph: true }).relevance.detach()));
  });

  it('a two-input layer runs its term on detached copies (x * x gives each input half, not the whole)', () => {
    const a = E.randn([3, 4], { ...F64, rng }).requireGrad();
    const rec = recordForward(new Square(), a);
    const composite = new MapComposite({ layerMap: [['op:mul', R.epsilonRule({ epsilon: 0 })]] });
    const { relevance } = rec.attribute(rec.output.detach(), { composite });
    // Epsilon with eps 0 on y = x * x: each input gets x * (x * y / y) = y, and the two add up to 2y.
    const y = E.mul(a, a);
    const diff = E.sub(relevance, E.mul(y, 2));
    expect(Math.max(...diff.toArray().map(Math.abs))).to.be.below(1e-12);
  });
});
