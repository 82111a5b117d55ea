import { expect } from 'chai';
import * as E from '../../engine/index.js';
import { epsilonPlus } from '../../composites/index.js';
import { canonize, resnetCanonizer, sequentialMergeBatchNorm } from '../../canonizers/index.js';
import { recordForward, oneHotSeed } from '../../attribution/index.js';
import { Sequential, Conv2d, Linear, ReLU, Flatten, BatchNorm2d } from '../../nn/index.js';
import { ResNet } from '../../models/index.js';

const f64 = 'float64' as const;

describe('canonizers', () => {
  function bnModel(): Sequential {
    const rng = new E.Rng(21);
    const m = new Sequential(new Conv2d(3, 4, 3, { padding: 1, dtype: f64, rng }), new BatchNorm2d(4, { dtype: f64 }), new ReLU(), new Flatten(), new Linear(4 * 16, 3, { dtype: f64, rng }));
    const bn = m.at(1) as BatchNorm2d;
    bn.loadStateDict({
      weight: E.rand([4], { dtype: f64, rng, low: 0.5, high: 2 }),
      bias: E.randn([4], { dtype: f64, rng }),
      running_mean: E.randn([4], { dtype: f64, rng }),
      running_var: E.rand([4], { dtype: f64, rng, low: 0.5, high: 2 }),
    }, { strict: false });
    m.eval();
    return m;
  }

  it('a canonized model gives the original outputs (float64, 1e-10): batch-norm merge and ResNet', () => {
    const m = bnModel();
    const x = E.randn([2, 3, 4, 4], { dtype: f64 });
    const a = m.call(x).toArray();
    const b = canonize(m, [sequentialMergeBatchNorm()]).call(x).toArray();
    a.forEach((v, i) => expect(b[i]).to.be.closeTo(v, 1e-10));
    const r = new ResNet({ block: 'BasicBlock', layers: [1, 1, 1, 1], planes: [2, 4, 4, 4], numClasses: 3, dtype: f64, rng: new E.Rng(2) });
    r.eval();
    const xr = E.randn([1, 3, 32, 32], { dtype: f64 });
    const ra = r.call(xr).toArray();
    const rb = canonize(r, [resnetCanonizer()]).call(xr).toArray();
    ra.forEach((v, i) => expect(rb[i]).to.be.closeTo(v, 1e-10));
  });

  it('explaining leaves the state dict bit-identical and the parameter objects the same', () => {
    const m = bnModel();
    const before = new Map([...m.stateDict()].map(([k, t]) => [k, Array.from(t.data)]));
    const objects = m.parameters();
    const view = canonize(m, [sequentialMergeBatchNorm()]);
    const rec = recordForward(view, E.randn([1, 3, 4, 4], { dtype: f64 }));
    const { relevance } = rec.attribute(oneHotSeed(rec.output, [1]), { composite: epsilonPlus(), createGraph: true });
    E.grad(E.sum(E.mul(relevance, relevance)), objects, { allowUnused: true });
    const after = m.stateDict();
    expect([...after.keys()]).to.deep.equal([...before.keys()]);
    for (const [k, v] of before) expect(Array.from(after.get(k)!.data), k).to.deep.equal(v);
    const now = m.parameters();
    objects.forEach((p, i) => expect(now[i]).to.equal(p));
  });

  it('merging refuses a batch norm in training mode', () => {
    const m = bnModel();
    m.train();
    expect(() => canonize(m, [sequentialMergeBatchNorm()]).call(E.randn([2, 3, 4, 4], { dtype: f64 }))).to.throw(/needs evaluation mode/);
  });
});
