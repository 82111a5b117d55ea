import { expect } from 'chai';
import fc from 'fast-check';
import * as E from '../../engine/index.js';
import type { Tensor } from '../../engine/index.js';
import * as R from '../../rules/index.js';
import { MapComposite, compositeFromSpec, compositeNames, epsilonPlus, epsilonGammaBox } from '../../composites/index.js';
import { recordForward, oneHotSeed } from '../../attribution/index.js';
import { Sequential, Conv2d, Linear, ReLU, Flatten, AvgPool2d, Module } from '../../nn/index.js';

const f64 = 'float64' as const;
const sumOf = (t: Tensor): number => t.toArray().reduce((a, b) => a + b, 0);

/** Each conserving rule with zero bias and a negligible stabiliser. */
const conserving: [string, () => R.Rule][] = [
  ['Epsilon', () => R.epsilonRule({ epsilon: 1e-9, zeroParams: 'bias' })],
  ['ZPlus', () => R.zPlusRule({ stabilizer: 1e-9, zeroParams: 'bias' })],
  ['AlphaBeta(2,1)', () => R.alphaBetaRule({ alpha: 2, beta: 1, stabilizer: 1e-9, zeroParams: 'bias' })],
  ['AlphaBeta(1,0)', () => R.alphaBetaRule({ alpha: 1, beta: 0, stabilizer: 1e-9, zeroParams: 'bias' })],
  ['Gamma', () => R.gammaRule({ gamma: 0.25, stabilizer: 1e-9, zeroParams: 'bias' })],
  ['ZBox', () => R.zBoxRule({ low: -3, high: 3, stabilizer: 1e-9, zeroParams: 'bias' })],
  ['Flat', () => R.flatRule({ stabilizer: 1e-9, zeroParams: 'bias' })],
  ['WSquare', () => R.wSquareRule({ stabilizer: 1e-9, zeroParams: 'bias' })],
];

function explainOne(layer: Module, x: Tensor, rule: R.Rule, kind: string): { rin: Tensor; rout: Tensor } {
  const rec = recordForward(layer, x);
  const rout = E.randn(rec.output.shape, { dtype: f64, rng: new E.Rng(3) });
  const comp = new MapComposite({ layerMap: [[kind, rule]] });
  const { relevance } = rec.attribute(rout, { composite: comp });
  return { rin: relevance, rout };
}

describe('LRP rule properties', () => {
  for (const [name, make] of conserving) {
    it(`${name} conserves relevance through a conv and a linear layer (float64, zero bias, eps 1e-9)`, () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 1_000_000 }), (seed) => {
          const rng = new E.Rng(seed);
          // No padding: every output sees 27 inputs, so (with signed weights) it has both positive and
          // negative contributions, the condition under which z+ and alpha-beta conserve.
          const conv = new Conv2d(3, 4, 3, { dtype: f64, rng });
          // Post-ReLU-like inputs (inside ZBox's box): z+ style rules conserve only where an output has
          // positive contributions, which 27 (conv) or 24 (linear) positive inputs guarantee in practice.
          const x = E.rand([2, 3, 5, 5], { dtype: f64, rng, low: 0.1, high: 2.5 });
          const c = explainOne(conv, x, make(), 'Convolution');
          expect(sumOf(c.rin)).to.be.closeTo(sumOf(c.rout), 1e-6 * Math.max(1, Math.abs(sumOf(c.rout))));
          const lin = new Linear(24, 4, { dtype: f64, rng });
          const xl = E.rand([3, 24], { dtype: f64, rng, low: 0.1, high: 2.5 });
          const l = explainOne(lin, xl, make(), 'Dense');
          expect(sumOf(l.rin)).to.be.closeTo(sumOf(l.rout), 1e-6 * Math.max(1, Math.abs(sumOf(l.rout))));
        }),
        { numRuns: 8, seed: 20261127 },
      );
    });
  }

  it('Norm conserves relevance through average pooling', () => {
    const x = E.rand([1, 2, 4, 4], { dtype: f64, low: 0.1, high: 1 });
    const { rin, rout } = explainOne(new AvgPool2d(2), x, R.normRule({ stabilizer: 1e-9 }), 'AvgPool');
    expect(sumOf(rin)).to.be.closeTo(sumOf(rout), 1e-6 * Math.abs(sumOf(rout)));
  });

  it('without zero bias, Epsilon does NOT conserve (the test can fail)', () => {
    const rng = new E.Rng(5);
    const lin = new Linear(6, 4, { dtype: f64, rng });
    lin.loadStateDict({ weight: lin.weight, bias: E.full([4], 3, { dtype: f64 }) });
    const x = E.rand([3, 6], { dtype: f64, rng });
    const l = explainOne(lin, x, R.epsilonRule({ epsilon: 1e-9 }), 'Dense');
    expect(Math.abs(sumOf(l.rin) - sumOf(l.rout))).to.be.greaterThan(1e-3);
  });

  it('z+ loses the relevance of an output without positive contributions (documented, not hidden)', () => {
    const lin = new Linear(2, 1, { dtype: f64 });
    lin.loadStateDict({ weight: E.tensor([[-1, -2]], { dtype: f64 }), bias: E.zeros([1], { dtype: f64 }) });
    const { rin } = explainOne(lin, E.tensor([[1, 1]], { dtype: f64 }), R.zPlusRule(), 'Dense');
    expect(sumOf(rin)).to.equal(0);
  });

  it('rules attach to a functional add and give each input its own share', () => {
    const a = E.tensor([1, 3], { dtype: f64 });
    const b = E.tensor([3, 1], { dtype: f64 });
    const model = (x: Tensor): Tensor => E.add(E.mul(x, a), E.mul(x, b));
    const rec = recordForward(model, E.tensor([1, 1], { dtype: f64 }));
    const comp = new MapComposite({ layerMap: [['op:add', R.normRule({ stabilizer: 1e-12 })], ['op:mul', R.passRule()]] });
    const { relevance } = rec.attribute(E.tensor([4, 8], { dtype: f64 }), { composite: comp });
    // Each branch takes its share of R (a/(a+b) and b/(a+b)); Pass returns both shares to x.
    expect(relevance.toArray().map((v) => +v.toFixed(9))).to.deep.equal([4, 8]);
    const plain = rec.attribute(E.tensor([4, 8], { dtype: f64 }));
    expect(plain.relevance.toArray()).to.deep.equal([16, 32]);
  });

  it('one recording is explained by the gradient and several composites, each equal to a separate run', () => {
    const rng = new E.Rng(9);
    const model = new Sequential(new Conv2d(3, 4, 3, { padding: 1, dtype: f64, rng }), new ReLU(), new Flatten(), new Linear(4 * 16, 3, { dtype: f64, rng }));
    model.eval();
    const x = E.randn([2, 3, 4, 4], { dtype: f64, rng });
    const rec = recordForward(model, x);
    const seed = oneHotSeed(rec.output, [0, 2]);
    const comps = [null, epsilonPlus(), epsilonGammaBox({ low: -3, high: 3 })];
    const shared = comps.map((c) => rec.attribute(seed, { composite: c }).relevance.toArray());
    const separate = comps.map((c) => recordForward(model, x).attribute(seed, { composite: c }).relevance.toArray());
    expect(shared).to.deep.equal(separate);
    expect(shared[0]).to.not.deep.equal(shared[1]);
  });

  it('AlphaBeta rejects alpha - beta != 1 with a clear message, and accepts 2.2/1.2 (zennit rejects it by float compare)', () => {
    expect(() => R.alphaBetaRule({ alpha: 2, beta: 2 })).to.throw(/alpha - beta must equal 1/);
    expect(() => R.alphaBetaRule({ alpha: 2.2, beta: 1.2 })).to.not.throw();
  });

  it('unknown composites and rules name the problem', () => {
    expect(() => compositeFromSpec({ name: 'epsilon_pluss' })).to.throw(/unknown composite 'epsilon_pluss'/);
    expect(() => R.ruleFromSpec({ rule: 'Epsilon', eps: 1 })).to.throw(/unknown argument\(s\) eps/);
    expect(() => compositeFromSpec({ name: 'epsilon_gamma_box' })).to.throw(/needs 'low' and 'high'/);
  });
});

describe('float32 robustness', () => {
  it('dead ReLUs and an all-zero input give finite relevance under every preset', () => {
    const rng = new E.Rng(4);
    const model = new Sequential(new Conv2d(3, 4, 3, { padding: 1, rng }), new ReLU(), new Conv2d(4, 4, 3, { padding: 1, rng }), new ReLU(), new Flatten(), new Linear(64, 3, { rng }));
    // Strongly negative biases kill every ReLU.
    const c0 = model.at(0) as Conv2d;
    c0.loadStateDict({ weight: c0.weight, bias: E.full([4], -100) });
    model.eval();
    const x = E.zeros([2, 3, 4, 4]);
    for (const name of compositeNames.filter((n) => n !== 'layer_map')) {
      const comp = compositeFromSpec({ name, args: name === 'epsilon_gamma_box' ? { low: -3, high: 3 } : {} });
      const rec = recordForward(model, x);
      const { relevance } = rec.attribute(oneHotSeed(rec.output, [0, 1]), { composite: comp });
      expect(relevance.toArray().every(Number.isFinite), name).to.equal(true);
    }
  });
});
