import { expect } from 'chai';
import * as E from '../../engine/index.js';
import * as ops from '../../engine/ops/index.js';
import { opChecks } from './ops-registry.js';

function registeredOpNames(): string[] {
  const names = new Set<string>();
  for (const v of Object.values(ops)) {
    if (v && typeof v === 'object' && 'vjp' in v && 'forward' in v && 'name' in v) names.add((v as E.OpDef).name);
  }
  return [...names].sort();
}

describe('gradcheck over the op registry (float64, central differences)', () => {
  it('every primitive op has first- and second-derivative checks', () => {
    const covered = new Set(Object.values(opChecks).flatMap((c) => c.covers));
    const missing = registeredOpNames().filter((n) => !covered.has(n));
    expect(missing, `ops without gradient checks: ${missing.join(', ')}`).to.deep.equal([]);
    expect(registeredOpNames().length).to.be.greaterThan(30);
  });

  for (const [name, check] of Object.entries(opChecks)) {
    it(`${name}: gradcheck`, () => {
      const { fn, inputs } = check.make(new E.Rng(7));
      const rep = E.gradcheck(fn, inputs, check.options);
      expect(rep.ok, JSON.stringify(rep)).to.equal(true);
    });
    it(`${name}: gradgradcheck`, () => {
      const { fn, inputs } = check.make(new E.Rng(11));
      const rep = E.gradgradcheck(fn, inputs, check.options);
      expect(rep.ok, JSON.stringify(rep)).to.equal(true);
    });
  }

  it('gradcheck catches a wrong VJP', () => {
    const wrong: E.OpDef = {
      name: 'wrong_square',
      forward: ([x]) => E.mul(x!.detach(), x!.detach()),
      vjp: (g, { inputs: [x] }) => [E.mul(g, x!)], // missing factor 2
    };
    const x = E.randn([4], { dtype: 'float64' }).requireGrad();
    expect(E.gradcheck((a) => E.apply(wrong, [a!], {}), [x]).ok).to.equal(false);
  });
});
