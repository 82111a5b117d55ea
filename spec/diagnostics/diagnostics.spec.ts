import { expect } from 'chai';
import * as E from '../../engine/index.js';
import type { Tensor } from '../../engine/index.js';
import { readFileSync } from 'node:fs';
import { loadCase, need, maxAbsDiff, allowedError, type LoadedCase } from '../../conformance/case.js';
import { buildFromSpec, ResNet } from '../../models/index.js';
import { Module, Conv2d, Linear, ReLU, Sequential } from '../../nn/index.js';
import { canonize, canonizerFrom } from '../../canonizers/index.js';
import { compositeFromSpec, epsilonPlus, excitationBackprop, MapComposite, type Composite } from '../../composites/index.js';
import { normRule, zPlusRule, passRule } from '../../rules/index.js';
import { recordForward, type Forward, type RecordedForward } from '../../attribution/index.js';
import {
  relevanceLedger, formatLedger, ruleCoverage, formatCoverage, relevanceAt, traceExplanation, toDot, dotString, ledgerSvg,
  DiagnosticsError, type RelevanceLedger,
} from '../../diagnostics/index.js';

const FIX = 'spec/fixtures/zennit';
const f64 = 'float64' as const;
const sumOf = (t: Tensor): number => t.toArray().reduce((a, b) => a + b, 0);
const relErr = (a: number, b: number): number => Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);

interface Loaded {
  c: LoadedCase;
  model: Module;
  view: Forward;
}

function loadModel(name: string, canonized = true): Loaded {
  const c = loadCase(readFileSync(`${FIX}/${name}.safetensors`), `${FIX}/${name}.safetensors`);
  const model = buildFromSpec(c.spec.model as never, { dtype: f64 });
  const params = new Map<string, Tensor>();
  for (const [k, t] of c.tensors) if (k.startsWith('param/')) params.set(k.slice(6), t);
  model.loadStateDict(params, { strict: true });
  model.eval();
  const cans = canonized ? (c.spec.composite?.canonizers ?? []).map((n) => canonizerFrom(n)) : [];
  return { c, model, view: cans.length ? canonize(model, cans) : model };
}

function record(l: Loaded): RecordedForward {
  return recordForward(l.view, need(l.c, 'input'));
}

const row = (ledger: RelevanceLedger, key: string) => {
  const r = ledger.rows.find((x) => x.key === key);
  if (!r) throw new Error(`no ledger row '${key}'`);
  return r;
};

// ---- a minimal DOT reader: enough of the grammar to reject malformed output -------------------

interface DotGraph {
  name: string;
  nodes: Map<string, Record<string, string>>;
  edges: { from: string; to: string; attrs: Record<string, string> }[];
  /** cluster label -> node ids declared inside (at any depth). */
  clusters: Map<string, Set<string>>;
}

function tokenize(src: string): string[] {
  const toks: string[] = [];
  let i = 0;
  while (i < src.length) {
    const ch = src[i]!;
    if (/\s/.test(ch)) {
      i++;
    } else if (ch === '"') {
      let j = i + 1;
      let s = '';
      while (j < src.length && src[j] !== '"') {
        if (src[j] === '\\') {
          s += src[j]! + src[j + 1]!;
          j += 2;
        } else s += src[j++];
      }
      if (j >= src.length) throw new Error('unterminated string');
      toks.push(`"${s}"`);
      i = j + 1;
    } else if (src.startsWith('->', i)) {
      toks.push('->');
      i += 2;
    } else if ('{}[];=,'.includes(ch)) {
      toks.push(ch);
      i++;
    } else {
      const m = /^[A-Za-z_0-9.#]+/.exec(src.slice(i));
      if (!m) throw new Error(`unexpected '${ch}' at ${i}`);
      toks.push(m[0]);
      i += m[0].length;
    }
  }
  return toks;
}

function parseDot(src: string): DotGraph {
  const t = tokenize(src);
  let p = 0;
  const peek = (): string | undefined => t[p];
  const take = (want?: string): string => {
    const tok = t[p++];
    if (tok === undefined || (want !== undefined && tok !== want)) throw new Error(`expected ${want ?? 'a token'} at token ${p - 1}, got ${tok}`);
    return tok;
  };
  const unq = (s: string): string => (s.startsWith('"') ? s.slice(1, -1).replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\') : s);
  const isId = (s: string | undefined): boolean => s !== undefined && (s.startsWith('"') || /^[A-Za-z_0-9.#]+$/.test(s));
  const attrs = (): Record<string, string> => {
    const out: Record<string, string> = {};
    take('[');
    while (peek() !== ']') {
      const k = take();
      if (!isId(k)) throw new Error(`bad attribute name ${k}`);
      take('=');
      const v = take();
      if (!isId(v)) throw new Error(`bad attribute value ${v}`);
      out[unq(k)] = unq(v);
      if (peek() === ',' || peek() === ';') take();
    }
    take(']');
    return out;
  };
  const g: DotGraph = { name: '', nodes: new Map(), edges: [], clusters: new Map() };
  const body = (open: Set<string>[]): void => {
    take('{');
    while (peek() !== '}') {
      const tok = take();
      if (tok === 'subgraph') {
        take();
        const mine = new Set<string>();
        const save = p;
        // the label is the first `label=...` statement of the block
        let label = '';
        if (t[save + 1] === 'label' && t[save + 2] === '=') label = unq(t[save + 3]!);
        body([...open, mine]);
        g.clusters.set(label, mine);
      } else if (tok === 'graph' || tok === 'node' || tok === 'edge') {
        attrs();
      } else if (isId(tok) && peek() === '=') {
        take('=');
        if (!isId(take())) throw new Error('bad graph attribute');
      } else if (isId(tok) && peek() === '->') {
        take('->');
        const to = take();
        if (!isId(to)) throw new Error(`bad edge target ${to}`);
        const a = peek() === '[' ? attrs() : {};
        g.edges.push({ from: unq(tok), to: unq(to), attrs: a });
      } else if (isId(tok)) {
        const a = peek() === '[' ? attrs() : {};
        const id = unq(tok);
        if (g.nodes.has(id)) throw new Error(`node ${id} declared twice`);
        g.nodes.set(id, a);
        for (const s of open) s.add(id);
      } else {
        throw new Error(`unexpected token ${tok}`);
      }
      if (peek() === ';') take();
    }
    take('}');
  };
  take('digraph');
  g.name = unq(take());
  body([]);
  if (p !== t.length) throw new Error('trailing tokens');
  return g;
}

// ---- specs ---------------------------------------------------------------------------------------

describe('diagnostics: relevance ledger', function () {
  this.timeout(20_000);

  it('with zero bias and epsilon 1e-9 every layer of the CNN conserves (ratio 1 +- 1e-6) and the totals are the seed and input sums', () => {
    const l = loadModel('cnn-epsilon_plus');
    const rec = record(l);
    const seed = need(l.c, 'attr_output');
    const composite = epsilonPlus({ epsilon: 1e-9, stabilizer: 1e-9, zeroParams: 'bias' });
    const ledger = relevanceLedger(rec, seed, composite);
    // Conv, ReLU, MaxPool, Conv, ReLU, AvgPool, Flatten, Linear, ReLU, Linear (Dropout in eval records nothing)
    expect(ledger.rows.map((r) => r.key)).to.deep.equal(['0', '1', '2', '3', '4', '5', '6', '7', '8', '10']);
    expect(ledger.rows.map((r) => r.rule)).to.deep.equal(['ZPlus', 'Pass', 'gradient', 'ZPlus', 'Pass', 'Norm', 'gradient', 'Epsilon', 'Pass', 'Epsilon']);
    for (const r of ledger.rows) {
      expect(Math.abs(r.ratio! - 1), `${r.key} ratio ${r.ratio}`).to.be.at.most(1e-6);
      expect(r.status, r.key).to.equal('conserved');
      expect(r.bias, r.key).to.equal(0);
    }
    const relevance = rec.attribute(seed, { composite }).relevance;
    expect(ledger.totals.seed).to.equal(sumOf(seed));
    expect(relErr(ledger.totals.input, sumOf(relevance))).to.be.below(1e-12);
    expect(relErr(ledger.totals.input, ledger.totals.seed)).to.be.below(1e-6);
    expect(Math.abs(ledger.totals.unaccounted)).to.be.below(1e-12);
    expect(ledger.lost).to.deep.equal([]);
    expect(ledger.created).to.deep.equal([]);
    expect(ledger.totals.seedPerSample).to.deep.equal([1, 1]);
  });

  it('with biases it shows what each bias absorbs, and the absorptions add up to seed total - input total', () => {
    const l = loadModel('cnn-epsilon_plus');
    const rec = record(l);
    const seed = need(l.c, 'attr_output');
    const composite = epsilonPlus({ epsilon: 1e-9, stabilizer: 1e-9 });
    const ledger = relevanceLedger(rec, seed, composite);
    const linear = ledger.rows.filter((r) => r.kind === 'Convolution' || r.kind === 'Dense');
    expect(linear.map((r) => r.key)).to.deep.equal(['0', '3', '7', '10']);
    for (const r of linear) {
      expect(Math.abs(r.bias!), r.key).to.be.above(1e-4);
      expect(r.cause, r.key).to.equal('bias');
      expect(Math.abs(r.absorbed - r.bias!), `${r.key}: the rest is the stabilizer's 1e-9`).to.be.at.most(1e-6 * Math.abs(r.arriving));
    }
    for (const r of ledger.rows.filter((x) => !linear.includes(x))) expect(r.bias, r.key).to.equal(0);
    const biasSum = ledger.rows.reduce((a, r) => a + r.bias!, 0);
    const difference = ledger.totals.seed - sumOf(rec.attribute(seed, { composite }).relevance);
    expect(Math.abs(difference)).to.be.above(0.1);
    expect(relErr(biasSum, difference)).to.be.below(1e-6);
    expect(relErr(ledger.totals.bias, difference)).to.be.below(1e-6);
    // ZPlus on conv '3' uses b+ only but relevance there is signed: that layer creates relevance.
    expect(ledger.lost.map((e) => e.key)).to.have.members(linear.filter((r) => r.absorbed > 0).map((r) => r.key));
    expect(ledger.created.map((e) => e.key)).to.have.members(linear.filter((r) => r.absorbed < 0).map((r) => r.key));
  });

  it('measures the bias share exactly: sum(b * R / stab(z)) for the Epsilon output layer', () => {
    const l = loadModel('cnn-epsilon_plus');
    const rec = record(l);
    const seed = need(l.c, 'attr_output');
    const ledger = relevanceLedger(rec, seed, epsilonPlus({ epsilon: 1e-9 }));
    const b = (l.model as Sequential).at(10).getParameter('bias')!;
    const z = rec.output;
    let share = 0;
    for (let n = 0; n < z.shape[0]!; n++) {
      for (let k = 0; k < z.shape[1]!; k++) {
        const zi = z.data[n * z.shape[1]! + k]!;
        share += (b.data[k]! * seed.data[n * z.shape[1]! + k]!) / (zi + 1e-9 * (zi >= 0 ? 1 : -1));
      }
    }
    expect(relErr(row(ledger, '10').bias!, share)).to.be.below(1e-12);
  });

  it('runs the same explanation as attribute() and the reference case', () => {
    const l = loadModel('cnn-epsilon_plus');
    const rec = record(l);
    const composite = compositeFromSpec(l.c.spec.composite as never);
    const seed = need(l.c, 'attr_output');
    const trace = traceExplanation(rec, seed, composite);
    expect(maxAbsDiff(trace.relevance, rec.attribute(seed, { composite }).relevance)).to.be.at.most(1e-12);
    const expected = need(l.c, 'relevance');
    expect(maxAbsDiff(trace.relevance, expected)).to.be.at.most(allowedError(expected, f64));
    // The graph was retained: the recording explains again with the same numbers.
    const again = relevanceLedger(rec, seed, composite);
    expect(again.totals.input).to.equal(relevanceLedger(rec, seed, composite).totals.input);
  });

  it('in a chain, what a layer passes on is what arrives at the layer before (plain gradient, multi-node layers included)', () => {
    const l = loadModel('cnn_bn-gradient');
    const rec = record(l);
    const seed = need(l.c, 'attr_output');
    const ledger = relevanceLedger(rec, seed, null);
    const trace = traceExplanation(rec, seed, null);
    expect(maxAbsDiff(trace.relevance, need(l.c, 'relevance'))).to.be.at.most(allowedError(need(l.c, 'relevance'), f64));
    for (let i = 1; i < ledger.rows.length; i++) {
      const r = ledger.rows[i]!;
      expect(r.inputs[0]!.from).to.equal(ledger.rows[i - 1]!.key);
      expect(relErr(ledger.rows[i - 1]!.arriving, r.passed), r.key).to.be.below(1e-12);
    }
    expect(ledger.rows[0]!.inputs[0]!.from).to.equal('input');
    expect(relErr(ledger.rows[0]!.passed, ledger.totals.input)).to.be.below(1e-12);
    // a Linear with bias is matmul + add: the gradient layers still report their inputs' share
    expect(row(ledger, '11').passed).to.not.equal(0);
    expect(row(ledger, '11').restKind).to.equal('gradient');
    expect(Math.abs(ledger.totals.unaccounted)).to.be.below(1e-12);
  });

  it('names the layers of the canonized ResNet where relevance is lost or created, and they explain the whole difference', () => {
    const l = loadModel('resnet_basic-epsilon_plus');
    const rec = record(l);
    const composite = compositeFromSpec(l.c.spec.composite as never);
    const ledger = relevanceLedger(rec, need(l.c, 'attr_output'), composite);
    const named = [...ledger.lost, ...ledger.created];
    expect(ledger.lost.map((e) => e.key)).to.include.members(['fc', 'conv1', 'layer1.0.conv1', 'layer4.0.downsample.0']);
    expect(row(ledger, 'fc').cause).to.equal('bias');
    expect(row(ledger, 'conv1').cause).to.equal('bias');
    for (const e of named) expect(['Convolution', 'Dense', 'Sum', 'AvgPool'], e.key).to.include(row(ledger, e.key).kind);
    // Pass and routing layers conserve exactly.
    for (const r of ledger.rows.filter((x) => x.rule === 'Pass' || x.kind === 'MaxPool' || x.kind.startsWith('op:'))) {
      expect(Math.abs(r.absorbed), r.key).to.be.at.most(1e-12);
    }
    const net = ledger.lost.reduce((a, e) => a + e.amount, 0) - ledger.created.reduce((a, e) => a + e.amount, 0);
    expect(Math.abs(net - ledger.totals.difference)).to.be.below(1e-5 * ledger.totals.seed);
    expect(Math.abs(ledger.totals.unaccounted)).to.be.below(1e-12);
    expect(ledger.hiddenLayers).to.equal(0); // the batch-norm merge records its parameter arithmetic inside no layer
    expect(ledger.rows.some((r) => r.key === 'layer1.0.relu@0') && ledger.rows.some((r) => r.key === 'layer1.0.relu@1')).to.equal(true);
    const text = formatLedger(ledger);
    expect(text).to.match(/lost at: +layer4\.0\.conv2 /);
    expect(text).to.include('fc 0.199128 (bias)');
  });

  it('shows the uncanonized ResNet doubling relevance at every residual add', () => {
    const l = loadModel('resnet_basic-epsilon_plus', false);
    const rec = record(l);
    const ledger = relevanceLedger(rec, need(l.c, 'attr_output'), compositeFromSpec(l.c.spec.composite as never));
    const adds = ledger.rows.filter((r) => r.kind === 'op:add');
    expect(adds.map((r) => r.key)).to.deep.equal(['op:add#0', 'op:add#1', 'op:add#2', 'op:add#3']);
    for (const r of adds) {
      expect(r.ratio).to.equal(2);
      expect(r.status).to.equal('created');
      expect(r.cause).to.equal('gradient');
    }
    expect(ledger.created.map((e) => e.key)).to.include.members(adds.map((r) => r.key));
    expect(ledger.totals.input).to.be.above(ledger.totals.seed * 10);
  });

  it('lists a layer whose output never reaches the model output as not reached', () => {
    class DeadBranch extends Module {
      readonly conv = this.registerModule('conv', new Conv2d(2, 3, 3, { dtype: f64, rng: new E.Rng(2) }));
      readonly dead = this.registerModule('dead', new Conv2d(2, 3, 3, { dtype: f64, rng: new E.Rng(3) }));
      forward(x: Tensor): Tensor {
        this.dead.call(x);
        return this.conv.call(x);
      }
    }
    const rec = recordForward(new DeadBranch(), E.randn([1, 2, 4, 4], { dtype: f64, rng: new E.Rng(4) }));
    const ledger = relevanceLedger(rec, E.onesLike(rec.output), epsilonPlus());
    expect(ledger.unreached).to.deep.equal(['dead']);
    expect(row(ledger, 'dead').status).to.equal('unreached');
    expect(row(ledger, 'conv').status).to.not.equal('unreached');
    expect(formatLedger(ledger)).to.include('not reached by the backward: dead');
  });

  it('formats an aligned table', () => {
    const l = loadModel('cnn-epsilon_plus');
    const ledger = relevanceLedger(record(l), need(l.c, 'attr_output'), epsilonPlus());
    expect(JSON.parse(JSON.stringify(ledger))).to.deep.equal(ledger); // plain JSON: no tensors, no NaN
    const text = formatLedger(ledger);
    const lines = text.split('\n');
    const h = lines.findIndex((x) => /^\s+#\s+layer/.test(x));
    const header = lines[h]!;
    const body = lines.slice(h + 1, h + 11);
    expect(body).to.have.length(10);
    for (const col of ['arriving', 'passed', 'absorbed', 'ratio']) {
      const end = header.indexOf(col) + col.length;
      for (const b of body) {
        expect(b[end - 1], `${col} in '${b}'`).to.match(/[0-9-]/);
        expect([' ', undefined], `${col} in '${b}'`).to.include(b[end]);
      }
    }
    expect(text).to.include('seed total 2.00000 -> input total');
  });
});

describe('diagnostics: relevance at intermediate layers', function () {
  this.timeout(20_000);

  it('equals a run of the top part of the CNN fed with that layer\'s activation (float64, 1e-12)', () => {
    const l = loadModel('cnn-epsilon_plus');
    const rec = record(l);
    const seed = need(l.c, 'attr_output');
    const composite = epsilonPlus();
    const at = relevanceAt(rec, seed, composite, ['5', '2', '7']);
    const kids = (l.model as Sequential).children();
    for (const [name, from] of [['5', 6], ['2', 3], ['7', 8]] as const) {
      const act = rec.recording.layerByName(name)!.output.detach();
      const top = (h: Tensor): Tensor => kids.slice(from).reduce((x, m) => m.call(x), h);
      const truncated = recordForward(top, act);
      expect(maxAbsDiff(truncated.output, rec.output)).to.equal(0);
      const expected = truncated.attribute(seed, { composite }).relevance;
      expect(maxAbsDiff(at.get(name)!, expected), name).to.be.at.most(1e-12);
      expect(Math.abs(sumOf(expected))).to.be.above(0.1);
    }
    // and what arrives at '5' is that layer's ledger entry
    const ledger = relevanceLedger(rec, seed, composite);
    expect(relErr(sumOf(at.get('5')!), row(ledger, '5').arriving)).to.be.below(1e-12);
  });

  it('equals a truncated run of the canonized ResNet after its last block', () => {
    const l = loadModel('resnet_basic-epsilon_plus');
    const rec = record(l);
    const seed = need(l.c, 'attr_output');
    const composite = compositeFromSpec(l.c.spec.composite as never);
    const key = 'layer4.0.relu@1';
    const got = relevanceAt(rec, seed, composite, [key]).get(key)!;
    const net = l.model as ResNet;
    const act = rec.recording.layers.filter((x) => x.name === 'layer4.0.relu')[1]!.output.detach();
    const truncated = recordForward((h: Tensor) => net.fc.call(E.flatten(net.avgpool.call(h), 1)), act);
    expect(maxAbsDiff(got, truncated.attribute(seed, { composite }).relevance)).to.be.at.most(1e-12);
  });

  it('asks for one call of a module that ran twice, and rejects unknown names', () => {
    const l = loadModel('resnet_basic-epsilon_plus');
    const rec = record(l);
    const seed = need(l.c, 'attr_output');
    expect(() => relevanceAt(rec, seed, null, ['layer1.0.relu'])).to.throw(DiagnosticsError, /layer1\.0\.relu@0.*layer1\.0\.relu@1/);
    expect(() => relevanceAt(rec, seed, null, ['layer9'])).to.throw(DiagnosticsError, /no recorded layer 'layer9'/);
  });
});

/** A hand-written residual model: relu(conv(x) + x), the add is a functional op. */
class TinyResidual extends Module {
  readonly conv: Conv2d;
  readonly relu: ReLU;
  constructor() {
    super();
    this.conv = this.registerModule('conv', new Conv2d(2, 2, 3, { padding: 1, dtype: f64, rng: new E.Rng(7) }));
    this.relu = this.registerModule('relu', new ReLU());
  }
  forward(x: Tensor): Tensor {
    return this.relu.call(E.add(this.conv.call(x), x));
  }
}

describe('diagnostics: rule coverage', function () {
  this.timeout(20_000);

  it('flags the plain add of a hand-written residual model as uncovered, and a rule for op:add covers it', () => {
    const x = E.randn([1, 2, 5, 5], { dtype: f64, rng: new E.Rng(1) });
    const rec = recordForward(new TinyResidual(), x);
    const cov = ruleCoverage(rec, epsilonPlus());
    expect(cov.lrp).to.equal(true);
    expect(cov.layers.map((c) => [c.key, c.rule, c.status])).to.deep.equal([
      ['conv', 'ZPlus', 'rule'],
      ['op:add#0', null, 'uncovered'],
      ['relu', 'Pass', 'rule'],
    ]);
    expect(cov.uncovered).to.deep.equal(['op:add#0']);
    expect(cov.warnings.map((w) => [w.key, w.code, w.severity])).to.deep.equal([['op:add#0', 'residual-add', 'warning']]);
    expect(formatCoverage(cov)).to.match(/op:add#0 +add +op:add +gradient +UNCOVERED/);
    // the ledger shows the consequence: the add hands the whole relevance to both branches
    const seed = E.onesLike(rec.output);
    expect(row(relevanceLedger(rec, seed, epsilonPlus()), 'op:add#0').ratio).to.equal(2);

    const fixed = epsilonPlus({ layerMap: [['op:add', normRule({ stabilizer: 1e-9 })]] });
    const cov2 = ruleCoverage(rec, fixed);
    expect(cov2.uncovered).to.deep.equal([]);
    expect(cov2.warnings).to.deep.equal([]);
    expect(Math.abs(row(relevanceLedger(rec, seed, fixed), 'op:add#0').ratio! - 1)).to.be.below(1e-6);
  });

  it('finds the canonized ResNet covered (no op:add warning) and the plain one not', () => {
    const canon = loadModel('resnet_basic-epsilon_plus');
    const composite = compositeFromSpec(canon.c.spec.composite as never);
    const cov = ruleCoverage(record(canon), composite);
    expect(cov.warnings).to.deep.equal([]);
    expect(cov.uncovered).to.deep.equal([]);
    expect(cov.withRule).to.include.members(['conv1', 'layer1.0.canonizer_sum', 'layer4.0.canonizer_sum', 'fc', 'avgpool']);
    expect(cov.gradient).to.include('maxpool');
    expect(cov.layers.some((c) => c.kind === 'op:add')).to.equal(false);

    const plain = loadModel('resnet_basic-epsilon_plus', false);
    const cov2 = ruleCoverage(record(plain), composite);
    expect(cov2.uncovered).to.deep.equal(['op:add#0', 'op:add#1', 'op:add#2', 'op:add#3']);
    expect(cov2.warnings.filter((w) => w.code === 'residual-add')).to.have.length(4);
    expect(cov2.warnings.filter((w) => w.code === 'batchnorm').every((w) => w.severity === 'info')).to.equal(true);
  });

  it('warns about a Dense layer without a rule and activations left with the gradient under an LRP composite, not under the plain gradient', () => {
    const l = loadModel('cnn-epsilon_plus');
    const rec = record(l);
    const convOnly = new MapComposite({ name: 'conv-only', layerMap: [['Convolution', zPlusRule()], ['AvgPool', normRule()], ['Activation', passRule()]] });
    const cov = ruleCoverage(rec, convOnly);
    expect(cov.warnings.filter((w) => w.code === 'linear-gradient').map((w) => w.key)).to.deep.equal(['7', '10']);
    expect(cov.uncovered).to.deep.equal(['7', '10']);

    const eb = ruleCoverage(rec, excitationBackprop());
    expect(eb.warnings.filter((w) => w.code === 'activation-gradient').map((w) => w.key)).to.deep.equal(['1', '4', '8']);

    const grad = ruleCoverage(rec, null);
    expect(grad.lrp).to.equal(false);
    expect(grad.warnings).to.deep.equal([]);
    expect(grad.gradient).to.have.length(10);
  });

  it('infers the input of a bare recording (parameter arithmetic outside layers is not on its path)', () => {
    const l = loadModel('resnet_basic-epsilon_plus');
    const composite = compositeFromSpec(l.c.spec.composite as never);
    // A layer fed a weight scaled outside any layer: that op is an op-layer off the input's path.
    const lin = new Linear(4, 3, { dtype: f64 });
    const rec = recordForward((x: Tensor) => lin.forwardWith([x], { weight: E.mul(lin.weight, 2), bias: lin.bias }), E.randn([2, 4], { dtype: f64 }));
    const a = ruleCoverage(rec, composite);
    const b = ruleCoverage(rec.recording, composite);
    expect(b).to.deep.equal(a);
    expect(a.hiddenLayers).to.equal(rec.recording.layers.length - a.layers.length);
    expect(a.hiddenLayers).to.be.above(0);
  });
});

describe('diagnostics: graph views', function () {
  this.timeout(20_000);

  it('escapes DOT strings', () => {
    expect(dotString('a"b\\c\nd')).to.equal('"a\\"b\\\\c\\nd"');
  });

  it('writes the canonized ResNet as valid DOT: one box per layer, edges along the data flow, clusters per block', () => {
    const l = loadModel('resnet_basic-epsilon_plus');
    const rec = record(l);
    const composite = compositeFromSpec(l.c.spec.composite as never);
    const ledger = relevanceLedger(rec, need(l.c, 'attr_output'), composite);
    const g = parseDot(toDot(rec, { rules: composite, ledger }));
    const layerIds = ledger.rows.map((r) => `L${r.index}`);
    expect([...g.nodes.keys()].sort()).to.deep.equal([...layerIds, 'input0', 'output'].sort());
    for (const e of g.edges) {
      expect(g.nodes.has(e.from), e.from).to.equal(true);
      expect(g.nodes.has(e.to), e.to).to.equal(true);
    }
    const expectedEdges = ledger.rows.reduce((a, r) => a + r.inputs.filter((i) => i.activation).length, 0) + 1;
    expect(g.edges).to.have.length(expectedEdges);
    // acyclic, and the output is reachable from the input
    const next = new Map<string, string[]>();
    for (const e of g.edges) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
    const seen = new Set<string>();
    const stack = ['input0'];
    while (stack.length) {
      const n = stack.pop()!;
      if (seen.has(n)) continue;
      seen.add(n);
      stack.push(...(next.get(n) ?? []));
    }
    expect(seen.size).to.equal(g.nodes.size);
    for (const e of g.edges) {
      if (e.from.startsWith('L') && e.to.startsWith('L')) expect(Number(e.from.slice(1))).to.be.below(Number(e.to.slice(1)));
    }
    const idOf = (key: string): string => `L${row(ledger, key).index}`;
    expect(g.nodes.get(idOf('conv1'))!.label).to.include('rule: ZPlus').and.include('[2, 4, 16, 16]').and.include('lost: bias');
    const block = g.clusters.get('layer1.0')!;
    for (const key of ['layer1.0.conv1', 'layer1.0.canonizer_sum', 'layer1.0.relu@1', 'op:concat#0', 'op:reshape#1']) expect(block.has(idOf(key)), key).to.equal(true);
    expect(block.has(idOf('maxpool'))).to.equal(false);
    expect(g.clusters.get('layer2.0.downsample')!.has(idOf('layer2.0.downsample.0'))).to.equal(true);
    expect(g.clusters.get('layer2')!.has(idOf('layer2.0.downsample.0'))).to.equal(true);
  });

  it('highlights uncovered layers, and shows parameter layers and single nodes on request', () => {
    const plain = loadModel('resnet_basic-epsilon_plus', false);
    const rec = record(plain);
    const composite = compositeFromSpec(plain.c.spec.composite as never);
    const g = parseDot(toDot(rec, { rules: composite }));
    const adds = [...g.nodes.entries()].filter(([, a]) => a.label?.startsWith('op:add#'));
    expect(adds).to.have.length(4);
    for (const [, a] of adds) {
      expect(a.label).to.include('! residual-add');
      expect(a.fillcolor).to.equal('#f8d0cc');
    }

    const canon = loadModel('resnet_basic-epsilon_plus');
    const crec = record(canon);
    const lin = new Linear(4, 3, { dtype: f64 });
    const prec = recordForward((x: Tensor) => lin.forwardWith([x], { weight: E.mul(lin.weight, 2), bias: lin.bias }), E.randn([2, 4], { dtype: f64 }));
    const withParams = parseDot(toDot(prec.recording, { parameterLayers: true }));
    expect(withParams.nodes.size).to.equal(prec.recording.layers.length + 2);
    expect(withParams.edges.some((e) => e.attrs.label === 'weight' && e.attrs.style === 'dashed')).to.equal(true);

    const nodes = parseDot(toDot(crec, { rules: composite, detail: 'nodes' }));
    const opNodes = [...nodes.nodes.keys()].filter((k) => /^n\d+$/.test(k));
    const onPath = crec.recording.nodes.filter((n) => n.inputs.length && [...nodes.nodes.keys()].includes(`n${n.id}`));
    expect(opNodes.length).to.equal(onPath.length);
    expect(opNodes.length).to.be.above(40);
    for (const e of nodes.edges) expect(nodes.nodes.has(e.from) && nodes.nodes.has(e.to), `${e.from} -> ${e.to}`).to.equal(true);
    expect([...nodes.clusters.keys()].some((k) => k.startsWith('fc\n'))).to.equal(true);
  });

  it('draws the ledger chain as a well-formed SVG with one box per layer and arcs for the skip connections', () => {
    const l = loadModel('resnet_basic-epsilon_plus');
    const rec = record(l);
    const ledger = relevanceLedger(rec, need(l.c, 'attr_output'), compositeFromSpec(l.c.spec.composite as never));
    const svg = ledgerSvg(ledger);
    // tag balance
    const stack: string[] = [];
    for (const m of svg.matchAll(/<(\/?)([a-zA-Z]+)[^>]*?(\/?)>/g)) {
      if (m[3]) continue;
      if (m[1]) expect(stack.pop(), `closing ${m[2]}`).to.equal(m[2]);
      else stack.push(m[2]!);
    }
    expect(stack).to.deep.equal([]);
    expect(svg.match(/<g class="layer"/g)).to.have.length(ledger.rows.length);
    expect(svg.match(/data-status="created"/g)).to.have.length(ledger.created.length);
    expect(svg.match(/class="edge skip"/g)?.length).to.be.at.least(4); // identity / downsample branches
    expect(svg).to.not.match(/&(?!amp;|lt;|gt;|quot;|apos;)/);
  });
});
