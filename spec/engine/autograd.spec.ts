import { expect } from 'chai';
import * as E from '../../engine/index.js';

const f64 = { dtype: 'float64' as const };

describe('autograd tape', () => {
  it('grad of a non-scalar output needs gradOutputs, with a clear message', () => {
    const x = E.randn([3], f64).requireGrad();
    expect(() => E.grad(x.mul(2), x)).to.throw(/give gradOutputs for non-scalar outputs/);
  });

  it('refuses a second backward through a released graph, and allows it with retainGraph', () => {
    const x = E.randn([3], f64).requireGrad();
    const y = x.exp().sum();
    E.grad(y, x);
    expect(() => E.grad(y, x)).to.throw(/a second time/);
    const z = x.exp().sum();
    const [g1] = E.grad(z, x, { retainGraph: true });
    const [g2] = E.grad(z, x);
    expect(g2!.toArray()).to.deep.equal(g1!.toArray());
  });

  it('allowUnused gives null for an unused input and throws otherwise', () => {
    const x = E.randn([2], f64).requireGrad();
    const u = E.randn([2], f64).requireGrad();
    const y = x.sum();
    expect(() => E.grad(y, [x, u], { retainGraph: true })).to.throw(/not used by the outputs/);
    expect(E.grad(y, [x, u], { allowUnused: true })[1]).to.equal(null);
  });

  it('backward accumulates into .grad of leaves', () => {
    const x = E.tensor([1, 2, 3], f64).requireGrad();
    x.mul(x).sum().backward();
    x.mul(3).sum().backward();
    expect(x.grad!.toArray()).to.deep.equal([5, 7, 9]);
  });

  it('noGrad records nothing', () => {
    const x = E.randn([2], f64).requireGrad();
    const y = E.noGrad(() => x.mul(2));
    expect(y.node).to.equal(null);
    expect(y.requiresGrad).to.equal(false);
  });

  it('refuses to mix float32 and float64', () => {
    const a = E.ones([2], f64);
    const b = E.ones([2]);
    expect(() => a.add(b)).to.throw(/dtypes differ/);
  });

  it('numbers are weak scalars that keep the tensor dtype', () => {
    expect(E.ones([2]).mul(2).dtype).to.equal('float32');
    expect(E.ones([2], f64).mul(2).dtype).to.equal('float64');
  });

  it('gradient w.r.t. an intermediate tensor', () => {
    const x = E.tensor([1, 2], f64).requireGrad();
    const h = x.mul(3);
    const y = h.mul(h).sum();
    const [gh, gx] = E.grad(y, [h, x]);
    expect(gh!.toArray()).to.deep.equal([6, 12]);
    expect(gx!.toArray()).to.deep.equal([18, 36]);
  });

  it('third derivative of exp through createGraph', () => {
    const x = E.tensor([0.5], f64).requireGrad();
    const [g1] = E.grad(x.exp().sum(), x, { createGraph: true });
    const [g2] = E.grad(g1!.sum(), x, { createGraph: true });
    const [g3] = E.grad(g2!.sum(), x);
    expect(g3!.item()).to.be.closeTo(Math.exp(0.5), 1e-12);
  });

  it('rules swap a layer backward only in the grad call that passes them', () => {
    const x = E.tensor([1, -2, 3], f64).requireGrad();
    const { recording, result: y } = E.record(() =>
      E.runLayer({ kind: 'Activation', type: 'Test', name: 'act', inputs: [x], params: {}, fn: ([i]) => E.relu(i!) }, () => E.relu(x)),
    );
    expect(recording.layers.map((l) => l.name)).to.deep.equal(['act']);
    const seed = E.ones([3], f64);
    const [plain] = E.grad(y, x, { gradOutputs: seed, retainGraph: true });
    const [passed] = E.grad(y, x, { gradOutputs: seed, rules: () => (_layer, g) => [g], retainGraph: true });
    expect(plain!.toArray()).to.deep.equal([1, 0, 1]);
    expect(passed!.toArray()).to.deep.equal([1, 1, 1]);
  });
});
