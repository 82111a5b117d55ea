/**
 * The rule test kit: the built-in rules pass what they promise, and a rule with a known defect
 * (LRP-0 without a stabiliser) is reported on exactly the check it fails.
 */
import { expect } from 'chai';
import * as E from '../../engine/index.js';
import * as R from '../../rules/index.js';
import * as V from '../../evaluation/index.js';

/** LRP-epsilon written out: R_i = x_i * sum_j W_ji R_j / (z_j + eps * sign(z_j)), sign(0) = +1. */
const epsilonForm = (eps: number): V.MatrixForm => (x, W, b, r) => {
  const IN = x.length;
  const OUT = r.length;
  const out = new Float64Array(IN);
  for (let j = 0; j < OUT; j++) {
    let z = b[j]!;
    for (let i = 0; i < IN; i++) z += W[j * IN + i]! * x[i]!;
    const s = r[j]! / (z + eps * (z >= 0 ? 1 : -1));
    for (let i = 0; i < IN; i++) out[i] += x[i]! * W[j * IN + i]! * s;
  }
  return out;
};

/** LRP-z+ (zennit's, negative inputs allowed): z+_j = sum x+ W+ + x- W- + b+. */
const zPlusForm: V.MatrixForm = (x, W, b, r) => {
  const IN = x.length;
  const out = new Float64Array(IN);
  const contrib = (i: number, j: number) => {
    const w = W[j * IN + i]!;
    const xi = x[i]!;
    return xi > 0 ? xi * Math.max(w, 0) : xi * Math.min(w, 0);
  };
  for (let j = 0; j < r.length; j++) {
    let z = Math.max(b[j]!, 0);
    for (let i = 0; i < IN; i++) z += contrib(i, j);
    const s = r[j]! / (z + 1e-6 * (z >= 0 ? 1 : -1));
    for (let i = 0; i < IN; i++) out[i] += contrib(i, j) * s;
  }
  return out;
};

const statusOf = (checks: V.RuleCheck[]) => Object.fromEntries(checks.map((c) => [c.check, c.status]));

describe('evaluation: rule test kit', () => {
  it('Epsilon passes every check, including its matrix form', () => {
    const checks = V.checkRule(R.epsilonRule({ epsilon: 1e-6 }), { matrixForm: epsilonForm(1e-6) });
    expect(statusOf(checks), V.formatRuleChecks('Epsilon', checks)).to.deep.equal({
      conservation: 'pass', positivity: 'skipped', 'matrix form': 'pass', 'batch-norm canonizer': 'pass', 'finite in float32': 'pass', 'second order': 'pass',
    });
  });

  it('ZPlus passes every check including positivity and its matrix form; Flat is positive too', () => {
    const checks = V.checkRule(R.zPlusRule(), { positive: true, matrixForm: zPlusForm });
    expect(checks.every((c) => c.status === 'pass'), V.formatRuleChecks('ZPlus', checks)).to.equal(true);
    expect(statusOf(V.checkRule(R.flatRule(), { positive: true })).positivity).to.equal('pass');
  });

  it('reports the checks a defective rule fails: LRP-0 without a stabiliser is not finite on dead units, Epsilon 0.5 does not conserve, a wrong matrix form is caught', () => {
    const lrp0 = new R.BasicRule({
      name: 'LRP0',
      terms: [{ input: R.identity, params: R.noMod() }],
      gradientMapper: (r, [y]) => [E.div(r, y!)],
      reducer: (xs, gs) => E.mul(xs[0]!, gs[0]!),
    });
    const checks = V.checkRule(lrp0, { matrixForm: epsilonForm(0) });
    const s = statusOf(checks);
    expect(s['finite in float32'], V.formatRuleChecks('LRP0', checks)).to.equal('fail');
    expect(checks.find((c) => c.check === 'finite in float32')!.detail).to.contain('dead units');
    expect(s.conservation).to.equal('pass');
    expect(s['matrix form']).to.equal('pass');
    expect(s['second order']).to.equal('pass');
    expect(statusOf(V.checkRule(R.epsilonRule({ epsilon: 0.5 }))).conservation).to.equal('fail');
    expect(statusOf(V.checkRule(R.epsilonRule(), { matrixForm: zPlusForm }))['matrix form']).to.equal('fail');
    // AlphaBeta(2, 1) does not promise positivity: asking for it is reported, not thrown.
    expect(statusOf(V.checkRule(R.alphaBetaRule(), { positive: true })).positivity).to.equal('fail');
  });
});
