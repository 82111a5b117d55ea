/** What the teaching page computes, in Node: field checks, composites from fields, the traced explanation, the batch-norm comparison, EGL steps. */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { attribution, composites, engine } from '../../index.js';
import { loadDigitModel, parseDigits } from '../../teach/digits.js';
import { buildComposite, canonized, compareCanonizer, DEFAULT_PARAMS, explain, fieldsOf, modelFingerprint, PRESETS, validate } from '../../teach/lesson.js';
import { eglStep, parameterSnapshot, startEgl } from '../../teach/decoy.js';

const data = (f: string) => readFileSync(new URL(`../../teach/data/${f}`, import.meta.url));

describe('teach: the lesson computations', () => {
  const model = loadDigitModel(data('digit-cnn.safetensors'));
  const all = parseDigits(data('digits.safetensors'));
  const x = new engine.Tensor((all.x.data as Float32Array).slice(64, 128), [1, 1, 8, 8]);

  it('offers every preset of the library', () => {
    expect(PRESETS).to.include.members(['epsilon_gamma_box', 'epsilon_plus', 'epsilon_plus_flat', 'epsilon_alpha2_beta1', 'epsilon_alpha2_beta1_flat', 'deconvnet', 'guided_backprop', 'excitation_backprop', 'beta_smooth']);
    expect(fieldsOf('epsilon_gamma_box')).to.include.members(['epsilon', 'gamma', 'low', 'high', 'zeroBias']);
    expect(fieldsOf('epsilon_alpha2_beta1')).to.include.members(['alpha', 'beta']);
    expect(fieldsOf('guided_backprop')).to.deep.equal([]);
  });

  it('names the field that is wrong', () => {
    expect(validate(DEFAULT_PARAMS)).to.deep.equal({});
    expect(validate({ ...DEFAULT_PARAMS, epsilon: 0 }).epsilon).to.match(/> 0/);
    expect(validate({ ...DEFAULT_PARAMS, gamma: -0.5 }).gamma).to.match(/>= 0/);
    expect(validate({ ...DEFAULT_PARAMS, gamma: NaN }).gamma).to.match(/must be a number, got NaN/);
    expect(validate({ ...DEFAULT_PARAMS, low: 1, high: 0 }).low).to.match(/low must be < high/);
    expect(validate({ ...DEFAULT_PARAMS, composite: 'epsilon_alpha2_beta1', alpha: 2, beta: 2 }).alpha).to.match(/alpha - beta must be 1/);
    // A field the preset does not read is not checked.
    expect(validate({ ...DEFAULT_PARAMS, composite: 'guided_backprop', epsilon: 0 })).to.deep.equal({});
  });

  it('matched map entries agree with the assignment, and edited alpha/beta reach the conv rule', () => {
    const rec = attribution.recordForward(canonized(model), x);
    for (const name of PRESETS) {
      const c = buildComposite({ ...DEFAULT_PARAMS, composite: name }) as composites.MapComposite;
      const assigned = c.assign(rec.recording);
      const matched = c.matches(rec.recording);
      expect([...matched].map(([l, m]) => [l, m.rule])).to.deep.equal([...assigned]);
    }
    const ab = buildComposite({ ...DEFAULT_PARAMS, composite: 'epsilon_alpha2_beta1', alpha: 3, beta: 2 }) as composites.MapComposite;
    const conv = [...ab.matches(rec.recording)].find(([l]) => l.name === 'conv2')![1];
    expect(conv.map).to.equal('layer');
    expect(conv.rule.name).to.equal('AlphaBeta');
    expect(conv.rule.settings).to.include({ alpha: 3, beta: 2 });
  });

  it('explains with a ledger whose rows run from the seed to the input total', () => {
    const e = explain(canonized(model), x, buildComposite(DEFAULT_PARAMS));
    expect(e.target).to.equal(all.y[1]);
    expect(e.layers.map((l) => l.key)).to.deep.equal(['conv1', 'relu1', 'conv2', 'relu2', 'pool', 'flatten', 'fc1', 'relu3', 'fc2']);
    expect(e.layers[0]!.matched).to.equal('first-layer map: Convolution');
    expect(e.ledger.totals.seed).to.equal(1);
    expect(e.ledger.totals.input).to.be.closeTo(e.relevance.reduce((a, b) => a + b, 0), 1e-5);
    expect(e.layers.at(-1)!.relevanceOut).to.be.closeTo(1, 1e-6);
  });

  it('merging the batch norm keeps logits and gradient, leaves the model untouched', () => {
    const before = modelFingerprint(model);
    const c = compareCanonizer(model, x, buildComposite({ ...DEFAULT_PARAMS, composite: 'epsilon_plus' }));
    expect(c.layersBefore).to.include('bn1 (BatchNorm2d)');
    expect(c.layersAfter).to.not.include('bn1 (BatchNorm2d)');
    expect(c.logitDifference).to.be.below(1e-4);
    expect(c.gradientDifference).to.be.below(1e-5);
    expect(c.fingerprintAfter).to.equal(before);
    expect(modelFingerprint(model)).to.equal(before);
  });

  it('the merge changes LRP relevance only where the first rule sees the scale or the bias (the page says which)', () => {
    const diff = (name: string) => {
      const c = compareCanonizer(model, x, buildComposite({ ...DEFAULT_PARAMS, composite: name }));
      return c.relevanceDifference / Math.max(...c.relevanceBefore.map(Math.abs));
    };
    // The trained batch norm scales every channel by a positive factor: ZBox's fractions and Flat do not see it.
    expect([...model.stateDict().get('bn1.weight')!.data].every((v) => v > 0)).to.equal(true);
    expect(diff('epsilon_gamma_box')).to.be.below(1e-5);
    expect(diff('epsilon_plus_flat')).to.be.below(1e-5);
    // ZPlus keeps only the positive part of the bias, which the merge changes.
    expect(diff('epsilon_plus')).to.be.above(1e-2);
  });

  it('EGL steps lower the loss and the patch share, and change the weights', () => {
    const s = startEgl(data('decoy-cnn.safetensors'));
    const w0 = parameterSnapshot(s.model);
    for (let i = 0; i < 3; i++) eglStep(s);
    expect(s.history[2]!.loss).to.be.lessThan(s.history[0]!.loss);
    expect(s.history[2]!.penalty).to.be.lessThan(s.history[0]!.penalty);
    expect(parameterSnapshot(s.model).some((v, i) => v !== w0[i])).to.equal(true);
  });
});
