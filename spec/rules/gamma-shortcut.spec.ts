import { expect } from 'chai';
import * as E from '../../engine/index.js';
import type { Tensor } from '../../engine/index.js';
import * as R from '../../rules/index.js';
import { MapComposite } from '../../composites/index.js';
import { recordForward } from '../../attribution/index.js';
import { countForwards } from '../support/op-count.js';
import { Sequential, Conv2d, Linear, ReLU, Flatten, Module } from '../../nn/index.js';

type DType = 'float32' | 'float64';
const maxAbs = (t: Tensor): number => t.toArray().reduce((m, v) => Math.max(m, Math.abs(v)), 0);

interface Case {
  label: string;
  model: (rng: E.Rng, dtype: DType) => Module;
  input: number[];
  /** The op the layer runs, and its calls in an ordinary explanation with the shortcut (its VJPs included for matmul). */
  op: 'conv2d' | 'matmul';
  calls: number;
}

const conv = (rng: E.Rng, dtype: DType, opts: { bias?: boolean; stride?: number } = {}): Module =>
  new Sequential(new ReLU(), new Conv2d(3, 5, 3, { padding: 1, stride: opts.stride ?? 1, bias: opts.bias ?? true, rng, dtype }));
const dense = (rng: E.Rng, dtype: DType, bias = true): Module => new Sequential(new ReLU(), new Flatten(), new Linear(48, 7, { bias, rng, dtype }));

const cases: Case[] = [
  { label: 'conv with bias', model: (r, d) => conv(r, d), input: [2, 3, 4, 4], op: 'conv2d', calls: 1 },
  { label: 'conv without bias, stride 2', model: (r, d) => conv(r, d, { bias: false, stride: 2 }), input: [2, 3, 5, 5], op: 'conv2d', calls: 1 },
  // One forward and the two VJPs (the template: four forwards, two VJPs).
  { label: 'linear with bias', model: (r, d) => dense(r, d), input: [2, 3, 4, 4], op: 'matmul', calls: 3 },
  { label: 'linear without bias', model: (r, d) => dense(r, d, false), input: [2, 3, 4, 4], op: 'matmul', calls: 3 },
];
const OPS = { conv2d: E.conv2dOp, matmul: E.matmulOp };

/** Relevance of the input of an ordinary explanation and of a recorded one (always the template). */
function both(model: Module, x: Tensor, rule: R.Rule, seed: Tensor, op: keyof typeof OPS = 'conv2d'): { plain: Tensor; recorded: Tensor; calls: number } {
  const composite = new MapComposite({ layerMap: [['Convolution', rule], ['Dense', rule]] });
  const rec = recordForward(model, x);
  const { result: plain, calls } = countForwards(OPS[op], () => rec.attribute(seed, { composite }).relevance);
  const recorded = rec.attribute(seed, { composite, createGraph: true }).relevance.detach();
  return { plain, recorded, calls };
}

describe('Gamma shortcut (one forward convolution after a ReLU)', () => {
  for (const dtype of ['float64', 'float32'] as const) {
    // float64: rounding only. float32: the shortcut's z- = (2 + gamma) y - z+ rounds three values
    // where the template rounds one; the fixtures' float32 tolerance is 1e-4 of the maximum.
    const tol = dtype === 'float64' ? 1e-12 : 1e-5;
    for (const c of cases) {
      it(`equals the recorded template: ${c.label} (${dtype})`, () => {
        for (const seed of [1, 2, 3]) {
          const rng = new E.Rng(seed);
          const model = c.model(rng, dtype);
          const x = E.randn(c.input, { dtype, rng }).requireGrad();
          const out = recordForward(model, x).output;
          const rseed = E.randn(out.shape, { dtype, rng });
          const { plain, recorded, calls } = both(model, x, R.gammaRule({ gamma: 0.25 }), rseed, c.op);
          expect(plain.shape).to.deep.equal(x.shape);
          const scale = maxAbs(recorded);
          expect(scale).to.be.greaterThan(0);
          expect(maxAbs(E.sub(plain, recorded)) / scale, `seed ${seed}`).to.be.at.most(tol);
          expect(calls, `${c.op} calls of the ordinary explanation`).to.equal(c.calls);
        }
      });
    }
  }

  it('runs the template where the input has a negative part, or the bias is zeroed', () => {
    const rng = new E.Rng(5);
    const layer = new Conv2d(3, 4, 3, { padding: 1, rng, dtype: 'float64' });
    const x = E.randn([1, 3, 4, 4], { dtype: 'float64', rng }).requireGrad();
    const seed = E.randn([1, 4, 4, 4], { dtype: 'float64', rng });
    // Signed input: four terms, two of them on the negative part (not all zero here).
    const signed = both(layer, x, R.gammaRule(), seed);
    expect(signed.calls).to.equal(4);
    expect(maxAbs(E.sub(signed.plain, signed.recorded))).to.equal(0);
    // Non-negative input, zero bias: z- would need y - b, so the template runs (two real terms, two of zeros).
    const relu = new Sequential(new ReLU(), new Conv2d(3, 4, 3, { padding: 1, rng, dtype: 'float64' }));
    const zeroBias = both(relu, x, R.gammaRule({ zeroParams: 'bias' }), seed);
    expect(zeroBias.calls).to.equal(4);
    expect(maxAbs(E.sub(zeroBias.plain, zeroBias.recorded))).to.equal(0);
  });

  it('runs the template for a subclass of Conv2d (its forward may be another function of W)', () => {
    class ScaledConv extends Conv2d {}
    const rng = new E.Rng(6);
    const model = new Sequential(new ReLU(), new ScaledConv(3, 4, 3, { padding: 1, rng, dtype: 'float64' }));
    const x = E.randn([1, 3, 4, 4], { dtype: 'float64', rng }).requireGrad();
    const { calls } = both(model, x, R.gammaRule(), E.randn([1, 4, 4, 4], { dtype: 'float64', rng }));
    expect(calls).to.equal(4);
  });
});
