/**
 * Silent wrong answers the reliability probe found (issue 15): explaining a recording made under
 * noGrad, NaN hidden by ops, prototype names as keys, a recording reused after an in-place write.
 */
import { expect } from 'chai';
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import { compositeFromSpec } from '../composites/index.js';
import { ExplainError, oneHotSeed, recordForward } from '../attribution/index.js';
import { Conv2d, Flatten, Linear, ReLU, Sequential } from '../nn/index.js';

const f64 = 'float64' as const;

function smallModel(seed = 1): Sequential {
  const rng = new E.Rng(seed);
  return new Sequential(new Conv2d(2, 3, 3, { padding: 1, dtype: f64, rng }), new ReLU(), new Flatten(), new Linear(3 * 4 * 4, 3, { dtype: f64, rng })).eval();
}

describe('hardening: recording under noGrad', () => {
  const model = smallModel();
  const x = E.randn([1, 2, 4, 4], { dtype: f64, rng: new E.Rng(2) });
  const composite = compositeFromSpec({ name: 'epsilon_plus' });
  const explain = (createGraph = false): Tensor => {
    const rec = recordForward(model, x);
    return rec.attribute(oneHotSeed(rec.output, [1]), { composite, createGraph }).relevance;
  };

  it('recordForward ignores an outer noGrad: the same relevance inside and outside, never silent zeros', () => {
    const outside = explain();
    const inside = E.noGrad(() => explain());
    expect(outside.toArray().some((v) => v !== 0)).to.equal(true);
    expect(inside.toArray()).to.deep.equal(outside.toArray());
  });

  it('attribute with createGraph under noGrad still records the backward', () => {
    const r = E.noGrad(() => explain(true));
    expect(r.requiresGrad).to.equal(true);
    const [g] = E.grad(E.sum(E.mul(r, r)), model.parameters()[0]!);
    expect(g).to.not.equal(null);
  });

  it('a forward that cuts the graph is a clear error, not a zero relevance', () => {
    const rec = recordForward((t: Tensor) => model.call(t.detach()), x);
    expect(() => rec.attribute(oneHotSeed(rec.output, [0]), { composite })).to.throw(ExplainError, /does not depend on the input/);
  });
});
