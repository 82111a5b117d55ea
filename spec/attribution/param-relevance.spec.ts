import { expect } from 'chai';
import * as E from '../../engine/index.js';
import type { LayerRecord, Tensor } from '../../engine/index.js';
import { AvgPool2d, BatchNorm2d, Conv2d, Flatten, Linear, ReLU, Sequential } from '../../nn/index.js';
import { epsilonRule, passRule, normRule, zPlusRule } from '../../rules/index.js';
import { MapComposite, epsilonPlus } from '../../composites/index.js';
import { canonize, sequentialMergeBatchNorm } from '../../canonizers/index.js';
import { aggregatePerUnit, oneHotSeed, parameterRelevance, pruningOrder, recordForward, splitParamKey } from '../../attribution/index.js';

const F64 = { dtype: 'float64' as const };

function total(t: Tensor): number {
  let s = 0;
  for (let i = 0; i < t.size; i++) s += t.data[i]!;
  return s;
}
function totalAbs(t: Tensor): number {
  let s = 0;
  for (let i = 0; i < t.size; i++) s += Math.abs(t.data[i]!);
  return s;
}

/** Conv2d(2, 4, 3) -> ReLU -> AvgPool2d(2) -> Flatten -> Linear(16, 5) -> ReLU -> Linear(5, 3). */
function net(rng: E.Rng): Sequential {
  return new Sequential(
    new Conv2d(2, 4, 3, { ...F64, rng }), new ReLU(), new AvgPool2d(2), new Flatten(),
    new Linear(16, 5, { ...F64, rng }), new ReLU(), new Linear(5, 3, { ...F64, rng }),
  );
}

describe('parameter relevance', () => {
  it('Epsilon (1e-9, no zero_params): weight + bias relevance = relevance arriving at the layer (float64, 1e-6 relative)', () => {
    const rng = new E.Rng(7);
    const model = net(rng);
    const x = E.randn([3, 2, 6, 6], { ...F64, rng });
    const composite = new MapComposite({
      layerMap: [['Linear', epsilonRule({ epsilon: 1e-9 })], ['Activation', passRule()], ['AvgPool', normRule({ stabilizer: 1e-9 })]],
    });
    const arriving = new Map<string, Tensor>();
    const onLayer = (l: LayerRecord, r: Tensor): void => {
      arriving.set(l.name, r);
    };
    const rel = parameterRelevance(model, x, [0, 1, 2], composite, { onLayer });
    expect([...rel.keys()]).to.have.members(['0.weight', '0.bias', '4.weight', '4.bias', '6.weight', '6.bias']);
    for (const layer of ['0', '4', '6']) {
      const r = arriving.get(layer)!;
      const w = rel.get(`${layer}.weight`)!;
      const b = rel.get(`${layer}.bias`)!;
      expect(w.shape, layer).to.deep.equal(model.at(Number(layer)).getParameter('weight')!.shape);
      const sumParams = total(w) + total(b);
      const err = Math.abs(sumParams - total(r));
      expect(err, `layer ${layer}: params ${sumParams} vs arriving ${total(r)}`).to.be.below(1e-6 * totalAbs(r));
      // Not vacuous: both the weight and the bias carry a part of it.
      expect(Math.abs(total(b))).to.be.above(1e-3 * totalAbs(r));
    }
    // The top layer receives the one-hot seed: 3 batch items, 1 each.
    expect(total(arriving.get('6')!)).to.be.closeTo(3, 1e-12);
  });

  it('is what attribute(..., {paramRelevance}) reports, for tensor, function and target seeds', () => {
    const rng = new E.Rng(8);
    const model = net(rng);
    const x = E.randn([2, 2, 6, 6], { ...F64, rng });
    const composite = epsilonPlus();
    const rec = recordForward(model, x);
    const ref = rec.attribute(oneHotSeed(rec.output, [2, 0]), { composite, paramRelevance: true }).paramRelevance!;
    const fromTargets = parameterRelevance(model, x, [2, 0], composite);
    const fromFn = parameterRelevance(model, x, (out) => oneHotSeed(out, [2, 0]), composite);
    const fromTensor = parameterRelevance(model, x, oneHotSeed(rec.output, [2, 0]), composite);
    for (const m of [fromTargets, fromFn, fromTensor]) {
      expect([...m.keys()]).to.deep.equal([...ref.keys()]);
      for (const [k, t] of m) {
        expect(t.requiresGrad, k).to.equal(false);
        expect(t.toArray()).to.deep.equal(ref.get(k)!.toArray());
      }
    }
  });

  it('through a batch-norm merge the keys name the convolution (its merged parameters)', () => {
    const rng = new E.Rng(9);
    const model = new Sequential(new Conv2d(2, 3, 3, { ...F64, rng }), new BatchNorm2d(3, F64), new ReLU(), new Flatten(), new Linear(48, 2, { ...F64, rng }));
    model.eval();
    const rel = parameterRelevance(canonize(model, [sequentialMergeBatchNorm()]), E.randn([1, 2, 6, 6], { ...F64, rng }), [1], epsilonPlus());
    expect([...rel.keys()]).to.have.members(['0.weight', '0.bias', '4.weight', '4.bias']);
  });

  it('aggregatePerUnit sums every dim but 0 and adds the bias (hand example)', () => {
    const rel = new Map<string, Tensor>([
      ['fc.weight', E.tensor([[1, 2], [3, 4], [5, 6]], F64)],
      ['fc.bias', E.tensor([0.5, -1, 0], F64)],
      ['features.0.weight', E.tensor([[[[1], [2]]], [[[-3], [0.25]]]], F64)], // [2, 1, 2, 1], no bias
      ['weight', E.tensor([[1, 1]], F64)], // a root layer
    ]);
    const per = aggregatePerUnit(rel);
    expect([...per.keys()]).to.deep.equal(['fc', 'features.0', '']);
    expect(per.get('fc')!.toArray()).to.deep.equal([3.5, 6, 11]);
    expect(per.get('features.0')!.toArray()).to.deep.equal([3, -2.75]);
    expect(per.get('')!.toArray()).to.deep.equal([2]);
    expect(splitParamKey('layer1.0.conv1.weight')).to.deep.equal(['layer1.0.conv1', 'weight']);

    expect(() => aggregatePerUnit(new Map([['a.weight', E.zeros([3, 2])], ['a.bias', E.zeros([2])]]))).to.throw(/units/);

    const order = pruningOrder(per);
    expect(order.map((c) => [c.layer, c.unit])).to.deep.equal([['features.0', 1], ['', 0], ['features.0', 0], ['fc', 0], ['fc', 1], ['fc', 2]]);
    expect(order[0]!.relevance).to.equal(-2.75);
    const byAbs = pruningOrder(per, { by: 'absolute' });
    expect(byAbs.map((c) => [c.layer, c.unit])).to.deep.equal([['', 0], ['features.0', 1], ['features.0', 0], ['fc', 0], ['fc', 1], ['fc', 2]]);
    const normalised = pruningOrder(per, { normalize: 'layer', layers: ['fc', 'features.0'] });
    // fc: [3.5, 6, 11] / 20.5; features.0: [3, -2.75] / 5.75
    expect(normalised.map((c) => [c.layer, c.unit])).to.deep.equal([['features.0', 1], ['fc', 0], ['fc', 1], ['features.0', 0], ['fc', 2]]);
    expect(normalised[1]!.score).to.be.closeTo(3.5 / 20.5, 1e-15);
  });

  it('per-unit totals of a real model: one entry per filter / neuron, summing to the layer total', () => {
    const rng = new E.Rng(10);
    const model = net(rng);
    const rel = parameterRelevance(model, E.randn([4, 2, 6, 6], { ...F64, rng }), [0, 1, 2, 0], new MapComposite({ layerMap: [['Linear', zPlusRule()]] }));
    const per = aggregatePerUnit(rel);
    expect([...per].map(([k, t]) => [k, t.shape[0]])).to.deep.equal([['6', 3], ['4', 5], ['0', 4]]);
    for (const [layer, t] of per) {
      expect(total(t)).to.be.closeTo(total(rel.get(`${layer}.weight`)!) + total(rel.get(`${layer}.bias`)!), 1e-12);
    }
    const order = pruningOrder(per, { layers: (l) => l === '0' });
    expect(order).to.have.length(4);
    for (let i = 1; i < order.length; i++) expect(order[i]!.score).to.be.at.least(order[i - 1]!.score);
  });
});
