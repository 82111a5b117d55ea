import { expect } from 'chai';
import * as E from '../../engine/index.js';
import * as nn from '../../nn/index.js';
import * as rules from '../../rules/index.js';
import {
  CompositeConfigError, CompositeRegistry, MapComposite, compositeFromSpec, compositeNames, defaultCompositeRegistry, describeComposites,
} from '../../composites/index.js';
import { recordForward } from '../../attribution/index.js';

describe('the composite registry object', () => {
  const rng = new E.Rng(2);
  const model = new nn.Sequential(new nn.Conv2d(2, 3, 3, { rng }), new nn.ReLU(), new nn.Flatten(), new nn.Linear(12, 2, { rng }));
  const rec = recordForward(model, E.randn([1, 2, 4, 4], { rng }));
  const ruleNames = (c: { assign: MapComposite['assign'] }): string[] => rec.recording.layers.map((l) => c.assign(rec.recording).get(l)?.name ?? '-');

  it('the default registry backs compositeFromSpec, compositeNames and describeComposites', () => {
    expect(compositeNames).to.deep.equal(defaultCompositeRegistry.names);
    expect(compositeNames.at(-1)).to.equal('layer_map');
    expect(describeComposites().map((d) => d.name)).to.deep.equal(compositeNames);
    expect(ruleNames(compositeFromSpec({ name: 'epsilon_plus' }))).to.deep.equal(ruleNames(defaultCompositeRegistry.fromSpec({ name: 'epsilon_plus' })));
  });

  it('with() gives the caller a registry with its own preset and leaves the default as it was', () => {
    const mine = defaultCompositeRegistry.with('all_epsilon', {
      keys: ['epsilon'],
      doc: 'Epsilon everywhere',
      make: (a, u) => new MapComposite({ name: 'all_epsilon', layerMap: [...(u.layerMap ?? []), ['Linear', rules.epsilonRule({ epsilon: a.epsilon as number })]] }),
    });
    expect(mine.names).to.include('all_epsilon');
    expect(mine.names.at(-1)).to.equal('layer_map');
    expect(ruleNames(mine.fromSpec({ name: 'all_epsilon', args: { epsilon: 0.5 } }))).to.deep.equal(['Epsilon', '-', '-', 'Epsilon']);
    // The spec's own map entries come first, as for the built-in presets.
    expect(ruleNames(mine.fromSpec({ name: 'all_epsilon', layer_map: [['Convolution', { rule: 'ZPlus' }]] }))).to.deep.equal(['ZPlus', '-', '-', 'Epsilon']);
    expect(() => mine.fromSpec({ name: 'all_epsilon', args: { gamma: 1 } })).to.throw(CompositeConfigError, /unknown argument/);
    expect(defaultCompositeRegistry.names).to.not.include('all_epsilon');
    expect(() => compositeFromSpec({ name: 'all_epsilon' })).to.throw(CompositeConfigError, /unknown composite 'all_epsilon'/);
    expect(() => new CompositeRegistry({ layer_map: { keys: [], doc: '', make: () => new MapComposite({}) } })).to.throw(CompositeConfigError, /cannot be redefined/);
  });

  it("a spec's layer_map reaches its own composite only", () => {
    const withMap = compositeFromSpec({ name: 'epsilon_plus', layer_map: [['Convolution', { rule: 'Flat' }]] });
    const plain = compositeFromSpec({ name: 'epsilon_plus' });
    expect(ruleNames(withMap)).to.deep.equal(['Flat', 'Pass', '-', 'Epsilon']);
    expect(ruleNames(plain)).to.deep.equal(['ZPlus', 'Pass', '-', 'Epsilon']);
    expect(ruleNames(withMap)).to.deep.equal(['Flat', 'Pass', '-', 'Epsilon']);
  });
});
