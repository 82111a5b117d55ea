/**
 * Differentiable explanations: d loss(relevance) / d(input, W, b) against float64
 * central finite differences, for every rule on a small conv and a small dense network, with a
 * constant and an output-dependent seed, through the batch-norm merge and the ResNet canonizer;
 * the double backward never re-applies a rule; a zennit-style detached rule must FAIL the check.
 * EGL_VERBOSE=1 prints the worst analytic/numeric mismatch of every check.
 */
import { expect } from 'chai';
import * as E from '../../engine/index.js';
import type { LayerRecord, Tensor } from '../../engine/index.js';
import { AvgPool2d, BatchNorm2d, Conv2d, Flatten, Linear, Module, ReLU, Sequential, Sum } from '../../nn/index.js';
import {
  alphaBetaRule, epsilonRule, flatRule, gammaRule, normRule, passRule, reluBetaSmoothRule, reluDeconvNetRule,
  reluGuidedBackpropRule, wSquareRule, zBoxRule, zPlusRule, type Rule,
} from '../../rules/index.js';
import { MapComposite, epsilonAlpha2Beta1, epsilonGammaBox, epsilonPlus, epsilonPlusFlat, type Composite, type LayerMap } from '../../composites/index.js';
import { canonize, resnetCanonizer, sequentialMergeBatchNorm } from '../../canonizers/index.js';
import { ResNet } from '../../models/index.js';
import { recordForward, oneHotSeed, type Forward, type Seed } from '../../attribution/index.js';

const F64 = { dtype: 'float64' as const };
/** Central-difference step and tolerance (float64): |analytic - numeric| <= RTOL * |numeric| + ATOL_REL * scale. */
const STEP = 1e-6;
const RTOL = 1e-5;
const ATOL_REL = 1e-7;

// ---- the loss and the finite-difference check ------------------------------------------------------

/** FORMAT.md's explanation loss: sum(R * w) + 0.5 * sum(R^2). */
function eglLoss(relevance: Tensor, w: Tensor): Tensor {
  return E.add(E.sum(E.mul(relevance, w)), E.mul(E.sum(E.mul(relevance, relevance)), 0.5));
}

interface Setup {
  model: Module;
  view: Forward;
  x: Tensor;
  seed: Seed;
  composite: Composite;
  w: Tensor;
}

function relevanceOf(s: Setup, createGraph: boolean): Tensor {
  return recordForward(s.view, s.x).attribute(s.seed, { composite: s.composite, createGraph }).relevance;
}

interface Mismatch {
  name: string;
  index: number;
  analytic: number;
  numeric: number;
}
interface FdReport {
  ok: boolean;
  /** Worst |analytic - numeric| / allowed over every checked element (<= 1 passes). */
  worstRatio: number;
  worst: Mismatch | null;
  checked: number;
  /** Largest |numeric| seen (shows the check is not vacuous). */
  maxNumeric: number;
}

/**
 * Compares `analytic` (d loss / d target for each named target) with central differences of
 * `loss()`, perturbing each target's storage in place (only this checker writes into tensors, and
 * restores them). `sample` limits the elements per tensor (evenly spread, always incl. first/last).
 */
function fdCheck(loss: () => number, targets: readonly (readonly [string, Tensor])[], analytic: readonly (Tensor | null)[], sample = Infinity): FdReport {
  const l0 = Math.abs(loss());
  const scale = Math.max(1, l0, ...analytic.map((g) => (g ? maxAbs(g) : 0)));
  let worstRatio = 0;
  let worst: Mismatch | null = null;
  let checked = 0;
  let maxNumeric = 0;
  targets.forEach(([name, t], ti) => {
    const data = t.data as Float64Array;
    const g = analytic[ti];
    const n = data.length;
    const idx = n <= sample ? [...Array(n).keys()] : [...new Set(Array.from({ length: sample }, (_, k) => Math.round((k * (n - 1)) / (sample - 1))))];
    for (const e of idx) {
      const orig = data[e]!;
      data[e] = orig + STEP;
      const fp = loss();
      data[e] = orig - STEP;
      const fm = loss();
      data[e] = orig;
      const numeric = (fp - fm) / (2 * STEP);
      const a = g ? g.data[e]! : 0;
      const allowed = RTOL * Math.abs(numeric) + ATOL_REL * scale;
      const ratio = Math.abs(a - numeric) / allowed;
      checked++;
      maxNumeric = Math.max(maxNumeric, Math.abs(numeric));
      if (!(ratio <= worstRatio)) {
        worstRatio = Number.isNaN(ratio) ? Infinity : ratio;
        worst = { name, index: e, analytic: a, numeric };
      }
    }
  });
  return { ok: worstRatio <= 1, worstRatio, worst, checked, maxNumeric };
}

function maxAbs(t: Tensor): number {
  let m = 0;
  for (let i = 0; i < t.size; i++) m = Math.max(m, Math.abs(t.data[i]!));
  return m;
}

/** Targets: the input and every parameter of the ORIGINAL model. */
function targetsOf(s: Setup, only?: readonly string[]): [string, Tensor][] {
  const params = s.model.namedParameters().filter(([n]) => !only || only.includes(n));
  return [['input', s.x], ...params];
}

/** Analytic gradients of the explanation loss (relevance recorded with createGraph) w.r.t. the targets. */
function analyticGrads(s: Setup, targets: readonly (readonly [string, Tensor])[]): { loss: number; grads: (Tensor | null)[] } {
  const R = relevanceOf(s, true);
  const L = eglLoss(R, s.w);
  return { loss: L.item(), grads: E.grad(L, targets.map(([, t]) => t), { allowUnused: true }) };
}

function checkSetup(s: Setup, opts: { sample?: number; only?: readonly string[] } = {}): FdReport {
  const targets = targetsOf(s, opts.only);
  const { grads } = analyticGrads(s, targets);
  return fdCheck(() => eglLoss(relevanceOf(s, false), s.w).item(), targets, grads, opts.sample);
}

function describe_(r: FdReport): string {
  const w = r.worst;
  return `worst ratio ${r.worstRatio.toExponential(2)} at ${w ? `${w.name}[${w.index}] analytic ${w.analytic} numeric ${w.numeric}` : '-'} (${r.checked} elements, max |numeric| ${r.maxNumeric.toExponential(2)})`;
}

// ---- kink margins: finite differences are valid only away from the non-smooth points ----------------

/**
 * The smallest |value| at the places where rules or layers switch branches: inputs of every
 * activation (ReLU mask, Gamma's sign of z), outputs of linear layers (stabiliser sign), the
 * relevance arriving at activations mapped to guided backprop or deconvnet, the input itself (x+ / x-)
 * and every parameter (W+ / W-), relative to the largest |value| of the same kind.
 */
function kinkMargin(s: Setup): { margin: number; where: string } {
  const rec = recordForward(s.view, s.x);
  let margin = Infinity;
  let where = '';
  const consider = (t: Tensor, what: string): void => {
    const m = maxAbs(t);
    // Exact zeros are structural (relevance of an inactive ReLU unit) and stay zero under perturbation.
    for (let i = 0; i < t.size; i++) {
      const v = Math.abs(t.data[i]!) / (m || 1);
      if (t.data[i] !== 0 && v < margin) [margin, where] = [v, `${what}[${i}]`];
    }
  };
  for (const l of rec.recording.layers) {
    if (l.kind === 'Activation') consider(l.inputs[0]!, `input of ${l.name}`);
    if (l.kind === 'Convolution' || l.kind === 'Dense') consider(l.output, `output of ${l.name}`);
  }
  // The sign of the relevance at a ReLU matters only for the guided-backprop and deconvnet rules.
  const arriving = new Map<LayerRecord, Tensor>();
  const { rules } = rec.attribute(s.seed, { composite: s.composite, onLayer: (l: LayerRecord, r: Tensor) => arriving.set(l, r) });
  for (const [l, r] of arriving) {
    const rule = rules.get(l)?.name;
    if (rule === 'ReLUGuidedBackprop' || rule === 'ReLUDeconvNet') consider(r, `relevance at ${l.name}`);
  }
  consider(s.x, 'input');
  for (const [n, p] of s.model.namedParameters()) consider(p, n);
  return { margin, where };
}

// ---- models ----------------------------------------------------------------------------------------

/** Conv2d(2, 3, 3) -> ReLU -> AvgPool2d(2) -> Flatten -> Linear(12, 3), input [2, 2, 6, 6]. */
function convNet(rng: E.Rng): Module {
  return new Sequential(new Conv2d(2, 3, 3, { ...F64, rng }), new ReLU(), new AvgPool2d(2), new Flatten(), new Linear(12, 3, { ...F64, rng }));
}

/** fc1: Linear(5, 6) -> ReLU -> reshape [N, 3, 2] -> Sum(-1) -> fc2: Linear(3, 3), input [2, 5]. */
class DenseNet extends Module {
  readonly fc1: Linear;
  readonly relu = new ReLU();
  readonly sum = new Sum(-1);
  readonly fc2: Linear;
  constructor(rng: E.Rng) {
    super();
    this.fc1 = this.registerModule('fc1', new Linear(5, 6, { ...F64, rng }));
    this.registerModule('relu', this.relu);
    this.registerModule('sum', this.sum);
    this.fc2 = this.registerModule('fc2', new Linear(3, 3, { ...F64, rng }));
  }
  override forward(x: Tensor): Tensor {
    const h = this.relu.call(this.fc1.call(x));
    return this.fc2.call(this.sum.call(E.reshape(h, [x.shape[0]!, 3, 2])));
  }
}

const TARGETS = [0, 2];
const targetsFor = (out: Tensor): number[] => TARGETS.slice(0, out.shape[0]!);
const constantSeed = (out: Tensor): Seed => oneHotSeed(out, targetsFor(out)).detach();
const outputSeed: Seed = (out) => E.mul(out, oneHotSeed(out, targetsFor(out)));

interface RuleCase {
  label: string;
  /** Layer-map entries (the layer under test -> the rule). */
  map: (rule: Rule) => { layerMap?: LayerMap; firstMap?: LayerMap };
  make: () => Rule;
}

const linearRules: { label: string; make: () => Rule; first?: boolean }[] = [
  { label: 'Epsilon', make: () => epsilonRule({ epsilon: 0.25 }) },
  { label: 'ZPlus', make: () => zPlusRule() },
  { label: 'AlphaBeta(2,1)', make: () => alphaBetaRule({ alpha: 2, beta: 1 }) },
  { label: 'AlphaBeta(1,0)', make: () => alphaBetaRule({ alpha: 1, beta: 0 }) },
  { label: 'Gamma', make: () => gammaRule({ gamma: 0.25 }) },
  { label: 'ZBox', make: () => zBoxRule({ low: -3, high: 3 }), first: true },
  // First-layer rules (as in zennit's *_flat presets): on every layer their relevance would not depend on any parameter.
  { label: 'Flat', make: () => flatRule(), first: true },
  { label: 'WSquare', make: () => wSquareRule(), first: true },
];
const activationRules: { label: string; make: () => Rule }[] = [
  { label: 'Pass', make: () => passRule() },
  { label: 'ReLUDeconvNet', make: () => reluDeconvNetRule() },
  { label: 'ReLUGuidedBackprop', make: () => reluGuidedBackpropRule() },
  { label: 'ReLUBetaSmooth', make: () => reluBetaSmoothRule({ beta: 2 }) },
];

function ruleCases(linearKind: 'Convolution' | 'Dense', poolKind: 'AvgPool' | 'Sum'): RuleCase[] {
  return [
    ...linearRules.map((r) => ({
      label: r.label,
      make: r.make,
      map: (rule: Rule) => (r.first ? { firstMap: [[linearKind, rule]] as LayerMap } : { layerMap: [[linearKind, rule]] as LayerMap }),
    })),
    { label: `Norm (on ${poolKind})`, make: () => normRule(), map: (rule: Rule) => ({ layerMap: [[poolKind, rule]] as LayerMap }) },
    ...activationRules.map((r) => ({ label: r.label, make: r.make, map: (rule: Rule) => ({ layerMap: [['Activation', rule]] as LayerMap }) })),
  ];
}

function setupFor(model: Module, x: Tensor, seedKind: 'constant' | 'output', composite: Composite, rng: E.Rng, view: Forward = model): Setup {
  const out = E.noGrad(() => (view as { call(x: Tensor): Tensor }).call(x));
  const seed = seedKind === 'constant' ? constantSeed(out) : outputSeed;
  return { model, view, x, seed, composite, w: E.randn(x.shape, { ...F64, rng }) };
}

// ---- specs -------------------------------------------------------------------------------------------

describe('differentiable explanations: d loss(relevance) against finite differences (float64)', function () {
  this.timeout(60000);

  const nets: { name: string; build: (rng: E.Rng) => Module; input: readonly number[]; linearKind: 'Convolution' | 'Dense'; poolKind: 'AvgPool' | 'Sum' }[] = [
    { name: 'conv layer', build: convNet, input: [2, 2, 6, 6], linearKind: 'Convolution', poolKind: 'AvgPool' },
    { name: 'linear layer', build: (rng) => new DenseNet(rng), input: [2, 5], linearKind: 'Dense', poolKind: 'Sum' },
  ];

  for (const net of nets) {
    describe(`every rule on a small ${net.name} (input, every W and b)`, () => {
      for (const rc of ruleCases(net.linearKind, net.poolKind)) {
        for (const seedKind of ['constant', 'output'] as const) {
          it(`${rc.label}, ${seedKind === 'constant' ? 'constant one-hot seed' : 'seed = output * one-hot'}`, () => {
            const rng = new E.Rng(11);
            const model = net.build(rng);
            const x = E.randn(net.input, { ...F64, rng }).requireGrad();
            const composite = new MapComposite(rc.map(rc.make()));
            const s = setupFor(model, x, seedKind, composite, rng);
            const k = kinkMargin(s);
            expect(k.margin, `too close to a kink for finite differences: ${k.where}`).to.be.above(1e-4);
            const r = checkSetup(s);
            if (process.env.EGL_VERBOSE) console.log(`      ${describe_(r)}`);
            expect(r.ok, describe_(r)).to.equal(true);
            expect(r.maxNumeric, 'the loss must depend on the targets').to.be.above(1e-3);
          });
        }
      }
    });
  }
});

// ---- canonizers ----------------------------------------------------------------------------------------

/** Gives every batch norm random affine parameters and running statistics (a merge that is not the identity). */
function randomizeBatchNorms(model: Module, rng: E.Rng): void {
  const dict = new Map<string, Tensor>();
  const vec = (n: number, f: () => number): Tensor => E.tensor(Array.from({ length: n }, f), [n], F64);
  for (const [name, m] of model.namedModules()) {
    if (!(m instanceof BatchNorm2d)) continue;
    const n = m.numFeatures;
    dict.set(`${name}.weight`, vec(n, () => 0.6 + rng.uniform()));
    dict.set(`${name}.bias`, vec(n, () => 0.3 * rng.normal()));
    dict.set(`${name}.running_mean`, vec(n, () => 0.2 * rng.normal()));
    dict.set(`${name}.running_var`, vec(n, () => 0.5 + rng.uniform()));
  }
  model.loadStateDict(dict, { strict: false });
}

describe('differentiable explanations through canonizers (float64 finite differences)', function () {
  this.timeout(60000);

  const bnComposites: [string, () => Composite][] = [
    ['epsilon_plus', () => epsilonPlus()],
    ['epsilon_alpha2_beta1', () => epsilonAlpha2Beta1()],
    ['epsilon_gamma_box', () => epsilonGammaBox({ low: -3, high: 3 })],
    ['epsilon_plus_flat', () => epsilonPlusFlat()],
  ];
  for (const [name, make] of bnComposites) {
    for (const seedKind of ['constant', 'output'] as const) {
      it(`batch-norm merge, ${name}, ${seedKind} seed: d/d(input, conv weight and bias, bn weight and bias, linear)`, () => {
        const rng = new E.Rng(5);
        const model = new Sequential(
          new Conv2d(2, 3, 3, { ...F64, rng }), new BatchNorm2d(3, F64), new ReLU(), new AvgPool2d(2), new Flatten(), new Linear(12, 3, { ...F64, rng }),
        );
        randomizeBatchNorms(model, rng);
        model.eval();
        const view = canonize(model, [sequentialMergeBatchNorm()]);
        const x = E.randn([2, 2, 6, 6], { ...F64, rng }).requireGrad();
        const s = setupFor(model, x, seedKind, make(), rng, view);
        const k = kinkMargin(s);
        expect(k.margin, k.where).to.be.above(1e-4);
        const targets = targetsOf(s);
        expect(targets.map(([n]) => n)).to.include.members(['0.weight', '0.bias', '1.weight', '1.bias']);
        const { grads } = analyticGrads(s, targets);
        // The batch norm's parameters reach the relevance only through the merged convolution.
        for (const n of ['1.weight', '1.bias']) expect(maxAbs(grads[targets.findIndex(([k]) => k === n)]!), n).to.be.above(1e-4);
        const r = fdCheck(() => eglLoss(relevanceOf(s, false), s.w).item(), targets, grads);
        if (process.env.EGL_VERBOSE) console.log(`      ${describe_(r)}`);
        expect(r.ok, describe_(r)).to.equal(true);
      });
    }
  }

  const resnetCases: [string, () => Composite, 'constant' | 'output'][] = [
    ['epsilon_plus', () => epsilonPlus(), 'constant'],
    ['epsilon_gamma_box', () => epsilonGammaBox({ low: -3, high: 3 }), 'output'],
  ];
  for (const [name, make, seedKind] of resnetCases) {
    it(`ResNet canonizer on a tiny ResNet (BasicBlock [1,1,1,1], planes 2), ${name}, ${seedKind} seed: every parameter tensor`, () => {
      const rng = new E.Rng(21);
      const model = new ResNet({ block: 'BasicBlock', layers: [1, 1, 1, 1], planes: [2, 2, 2, 2], numClasses: 3, dtype: 'float64', rng });
      randomizeBatchNorms(model, rng);
      model.eval();
      const view = canonize(model, [resnetCanonizer()]);
      const x = E.randn([1, 3, 16, 16], { ...F64, rng }).requireGrad();
      const s = setupFor(model, x, seedKind, make(), rng, view);
      // The canonized view records one Norm-mapped Sum per block.
      const rec = recordForward(view, x);
      expect(rec.recording.layers.filter((l) => l.kind === 'Sum').map((l) => l.name)).to.deep.equal(['layer1.0.canonizer_sum', 'layer2.0.canonizer_sum', 'layer3.0.canonizer_sum', 'layer4.0.canonizer_sum']);
      const k = kinkMargin(s);
      expect(k.margin, k.where).to.be.above(1e-4);
      const targets = targetsOf(s);
      const { grads } = analyticGrads(s, targets);
      const r = fdCheck(() => eglLoss(relevanceOf(s, false), s.w).item(), targets, grads, 6);
      if (process.env.EGL_VERBOSE) console.log(`      ${describe_(r)}`);
      expect(r.ok, describe_(r)).to.equal(true);
      expect(r.checked).to.be.above(120);
    });
  }
});

// ---- the double backward never re-applies a rule; a zennit-style detached rule fails ----------------

/** Counts calls of a rule's backward. */
function counted(rule: Rule): { rule: Rule; calls: LayerRecord[] } {
  const calls: LayerRecord[] = [];
  return {
    calls,
    rule: { name: rule.name, settings: rule.settings, backward: (layer, r, ctx) => (calls.push(layer), rule.backward(layer, r, ctx)) },
  };
}

/** zennit's behaviour: the rule re-runs the layer with `param.data` (detached parameters). */
function detachedParams(rule: Rule): Rule {
  return {
    name: rule.name,
    settings: rule.settings,
    backward: (layer, r, ctx) => {
      const params = Object.fromEntries(Object.entries(layer.params).map(([k, p]) => [k, p ? p.detach() : null]));
      return rule.backward({ ...layer, params }, r, ctx);
    },
  };
}

describe('the second derivative never re-applies the rules', function () {
  this.timeout(60000);

  it('each rule runs once per mapped layer during attribute and zero times during grad(loss(R), params), which equals finite differences', () => {
    const rng = new E.Rng(11);
    const model = convNet(rng);
    const x = E.randn([2, 2, 6, 6], { ...F64, rng }).requireGrad();
    const conv = counted(zPlusRule());
    const dense = counted(epsilonRule({ epsilon: 0.25 }));
    const act = counted(passRule());
    const pool = counted(normRule());
    const all = [conv, dense, act, pool];
    const composite = new MapComposite({ layerMap: [['Convolution', conv.rule], ['Dense', dense.rule], ['Activation', act.rule], ['AvgPool', pool.rule]] });
    const s = setupFor(model, x, 'output', composite, rng);

    const rec = recordForward(model, x);
    const { relevance, rules } = rec.attribute(s.seed, { composite, createGraph: true });
    expect(rules.size).to.equal(4);
    expect(all.map((c) => c.calls.length), 'calls during attribute').to.deep.equal([1, 1, 1, 1]);
    expect(all.map((c) => c.calls[0]!.name)).to.deep.equal(['0', '4', '1', '2']);
    const params = model.parameters();
    const grads = E.grad(eglLoss(relevance, s.w), params);
    expect(all.map((c) => c.calls.length), 'calls during the second grad').to.deep.equal([1, 1, 1, 1]);

    const r = fdCheck(() => eglLoss(relevanceOf(s, false), s.w).item(), model.namedParameters(), grads);
    expect(r.ok, describe_(r)).to.equal(true);
  });

  it('a rule mapped to two layers runs twice, then never again (dense net, backward() on the loss)', () => {
    const rng = new E.Rng(11);
    const model = new DenseNet(rng);
    const x = E.randn([2, 5], { ...F64, rng }).requireGrad();
    const dense = counted(gammaRule());
    const composite = new MapComposite({ layerMap: [['Dense', dense.rule]] });
    const rec = recordForward(model, x);
    const { relevance } = rec.attribute((out) => E.mul(out, oneHotSeed(out, TARGETS)), { composite, createGraph: true });
    expect(dense.calls.map((l) => l.name)).to.deep.equal(['fc2', 'fc1']);
    model.zeroGrad();
    eglLoss(relevance, E.onesLike(x)).backward();
    expect(dense.calls.length).to.equal(2);
    expect(model.parameters().every((p) => p.grad !== null)).to.equal(true);
  });

  it('negative control: zennit-style detached parameters in the rules FAIL the finite-difference check', () => {
    const rng = new E.Rng(11);
    const model = convNet(rng);
    const x = E.randn([2, 2, 6, 6], { ...F64, rng }).requireGrad();
    const make = (wrap: (r: Rule) => Rule): Composite => new MapComposite({ layerMap: [['Convolution', wrap(zPlusRule())], ['Dense', wrap(epsilonRule({ epsilon: 0.25 }))]] });
    const honest = setupFor(model, x, 'constant', make((r) => r), new E.Rng(3));
    const zennit: Setup = { ...honest, composite: make(detachedParams) };

    // Both give the same relevance: only its derivative differs.
    expect(maxAbs(E.sub(relevanceOf(honest, false), relevanceOf(zennit, false)))).to.equal(0);
    const good = checkSetup(honest);
    expect(good.ok, describe_(good)).to.equal(true);

    const targets = targetsOf(zennit);
    const { grads } = analyticGrads(zennit, targets);
    // The last layer's weight gets no gradient at all through a detached rule.
    const lastW = grads[targets.findIndex(([n]) => n === '4.weight')];
    expect(lastW === null || maxAbs(lastW) === 0).to.equal(true);
    const bad = fdCheck(() => eglLoss(relevanceOf(zennit, false), zennit.w).item(), targets, grads);
    expect(bad.ok, 'the detached rules must not pass').to.equal(false);
    expect(bad.worstRatio).to.be.above(1e3);
  });
});
