import { expect } from 'chai';
import * as E from '../../engine/index.js';
import * as nn from '../../nn/index.js';
import * as rules from '../../rules/index.js';
import { MapComposite } from '../../composites/index.js';
import { recordForward, oneHotSeed, ruleFor, assignRules } from '../../attribution/index.js';
import { traceExplanation } from '../../diagnostics/index.js';

const f64 = 'float64' as const;

function model(): nn.Sequential {
  const rng = new E.Rng(3);
  return new nn.Sequential(new nn.Linear(5, 6, { rng }), new nn.ReLU(), new nn.Linear(6, 4, { rng }), new nn.ReLU(), new nn.Linear(4, 3, { rng })).to(f64);
}

describe('the rule resolver and the null rule', () => {
  const m = model();
  const x = E.randn([2, 5], { dtype: f64, rng: new E.Rng(4) });
  const bits = (t: E.Tensor): string[] => Array.from(t.data, (v) => (Object.is(v, -0) ? '-0' : String(v)));

  it('gradientRule() on a layer gives that layer its plain VJP, exactly as no entry does, and is never called', () => {
    const epsilon = rules.epsilonRule({ epsilon: 0.1 });
    const withNull = new MapComposite({ nameMap: [['2', rules.gradientRule()]], layerMap: [['Dense', epsilon]] });
    const without = new MapComposite({ nameMap: [['0', epsilon], ['4', epsilon]] });
    const everywhere = new MapComposite({ layerMap: [['Dense', epsilon]] });
    const rec = recordForward(m, x);
    const seed = oneHotSeed(rec.output, [0, 2]);
    const a = rec.attribute(seed, { composite: withNull }).relevance;
    const b = rec.attribute(seed, { composite: without }).relevance;
    const c = rec.attribute(seed, { composite: everywhere }).relevance;
    expect(bits(a)).to.deep.equal(bits(b));
    // The middle layer's rule matters, so the comparison above could fail.
    expect(bits(a)).to.not.deep.equal(bits(c));
    expect(() => rules.gradientRule().backward(rec.recording.layers[2]!, rec.output)).to.throw(E.InternalError, /plain-gradient rule was called/);
  });

  it('the traced explanation resolves rules as attribute does', () => {
    const composite = new MapComposite({ nameMap: [['2', rules.gradientRule()]], layerMap: [['Dense', rules.epsilonRule({ epsilon: 0.1 })]] });
    const rec = recordForward(m, x);
    const seed = oneHotSeed(rec.output, [1, 0]);
    const trace = traceExplanation(rec, seed, composite);
    expect(bits(trace.relevance)).to.deep.equal(bits(rec.attribute(seed, { composite }).relevance));
    const middle = rec.recording.layers.find((l) => l.name === '2')!;
    expect(trace.layers.get(middle)!.rule).to.equal(null);
    expect(trace.layers.get(rec.recording.layers.find((l) => l.name === '0')!)!.rule?.name).to.equal('Epsilon');
  });

  it('the null rule is its class, not its name: a rule that is only called Gradient runs', () => {
    const rec = recordForward(m, x);
    const impostor = new rules.FunctionRule('Gradient', (layer) => layer.inputs.map(() => null));
    const assignment = assignRules(new MapComposite({ layerMap: [['Dense', impostor]] }), rec.recording);
    const dense = rec.recording.layers.find((l) => l.kind === 'Dense')!;
    expect(ruleFor(assignment, dense)).to.equal(impostor);
    expect(ruleFor(assignRules(null, rec.recording), dense)).to.equal(null);
    expect(ruleFor(assignRules(new MapComposite({ layerMap: [['Dense', rules.gradientRule()]] }), rec.recording), dense)).to.equal(null);
  });
});
