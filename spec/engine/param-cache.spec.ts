import { expect } from 'chai';
import { engine as E, nn, models, canonizers, composites, attribution, rules } from '../../index.js';
import type { Tensor } from '../../engine/index.js';

/**
 * The parameter cache (engine/param-cache.ts) must never change a number: every result here is compared
 * bit for bit with the same computation with the cache off.
 */
function smallResNet(): nn.Module {
  const m = new models.ResNet({ block: 'BasicBlock', layers: [1, 1, 1, 1], planes: [4, 4, 8, 8], numClasses: 3, rng: new E.Rng(5) }).to('float64');
  m.eval();
  return m;
}

function explain(model: nn.Module, x: Tensor, createGraph = false): Tensor {
  const view = canonizers.canonize(model, [canonizers.resnetCanonizer()]);
  const rec = attribution.recordForward(view, x);
  return rec.attribute(attribution.oneHotSeed(rec.output, [1]), { composite: composites.epsilonPlusFlat(), createGraph }).relevance;
}

function uncached<T>(fn: () => T): T {
  const prev = E.setParamCache(false);
  try {
    return fn();
  } finally {
    E.setParamCache(prev);
  }
}

const bits = (t: Tensor): number[] => Array.from(new Uint32Array(new Float64Array(t.data).buffer));

describe('parameter cache', () => {
  const x = E.randn([1, 3, 16, 16], { rng: new E.Rng(6), dtype: 'float64' });

  it('a second explanation reuses the parameter-derived values and gives bit-identical relevance', () => {
    const model = smallResNet();
    const reference = uncached(() => explain(model, x));
    explain(model, x);
    E.resetParamCacheStats();
    const second = explain(model, x);
    const { hits, misses } = E.paramCacheStats();
    // Merged batch norms, clamped weights, zeroed biases: all found again, nothing new computed.
    expect(hits).to.be.greaterThan(20);
    expect(misses).to.equal(0);
    expect(bits(second)).to.deep.equal(bits(reference));
  });

  it('sees a weight written in place without notice (a finite-difference step) and recomputes', () => {
    const model = smallResNet();
    const before = explain(model, x);
    const w = model.getModule('conv1')!.getParameter('weight')!;
    w.data[7] = w.data[7]! + 0.25;
    E.resetParamCacheStats();
    const after = explain(model, x);
    expect(E.paramCacheStats().invalidations).to.be.greaterThan(0);
    expect(bits(after)).to.deep.equal(bits(uncached(() => explain(model, x))));
    expect(bits(after)).to.not.deep.equal(bits(before));
  });

  it('recording compares each weight once: noting the versions repeats none of the comparisons of the forward', () => {
    const model = smallResNet();
    const view = canonizers.canonize(model, [canonizers.resnetCanonizer()]);
    explain(model, x);
    E.resetParamCacheStats();
    E.record(() => view.call(x));
    const forwardOnly = E.paramCacheStats().comparisons;
    E.resetParamCacheStats();
    const rec = attribution.recordForward(view, x);
    const recording = E.paramCacheStats().comparisons;
    rec.attribute(attribution.oneHotSeed(rec.output, [1]), { composite: composites.epsilonPlusFlat() });
    const checking = E.paramCacheStats().comparisons - recording;
    // Every weight and batch-norm statistic goes through the cache (the merged batch norms).
    expect(forwardOnly).to.be.greaterThan(model.parameters().length);
    expect(recording).to.equal(forwardOnly);
    // attribute still compares every parameter the recording noted.
    expect(checking).to.be.at.least(model.parameters().length);
  });

  it('an optimizer step drops the values derived from the parameters it wrote', () => {
    const model = smallResNet();
    const r = explain(model, x, true);
    const loss = E.sum(E.mul(r, r));
    const opt = new nn.SGD(model, { lr: 0.1 });
    opt.zeroGrad();
    loss.backward();
    opt.step();
    expect(bits(explain(model, x))).to.deep.equal(bits(uncached(() => explain(model, x))));
  });

  it('double backward through cached values equals the uncached gradient bit for bit', () => {
    const model = smallResNet();
    explain(model, x);
    const gradsOf = (): number[][] => {
      const r = explain(model, x, true);
      return E.grad(E.sum(E.mul(r, r)), model.parameters(), { allowUnused: true }).map((g) => (g ? bits(g) : []));
    };
    const cached = gradsOf();
    expect(cached.filter((g) => g.length).length).to.be.greaterThan(10);
    expect(cached).to.deep.equal(uncached(gradsOf));
  });

  it('caches only values of parameters, buffers and constants; a module cast to another dtype starts afresh', () => {
    const a = E.randn([64], { rng: new E.Rng(1) });
    E.resetParamCacheStats();
    E.relu(a);
    E.relu(a);
    expect(E.paramCacheStats()).to.deep.include({ hits: 0, misses: 0 });

    const lin = new nn.Linear(4, 2, { rng: new E.Rng(2) });
    E.resetParamCacheStats();
    E.clamp(lin.weight, 0, null);
    const c = E.clamp(lin.weight, 0, null);
    expect(E.paramCacheStats()).to.deep.include({ hits: 1, misses: 1 });
    // The cached output is not the parameter's storage, and the parameter is not the cached value.
    expect(c.data).to.not.equal(lin.weight.data);

    // `to()` registers casts as new parameters: they must be roots (checked), not cached values.
    lin.to('float64');
    const w64 = lin.weight;
    const first = E.clamp(w64, 0, null).toArray();
    w64.data[0] = 5;
    expect(E.clamp(w64, 0, null).toArray()[0]).to.equal(5);
    expect(first[0]).to.not.equal(5);
  });

  it('values mixing a constant and a parameter hang below the parameter: no cap shared by all models', () => {
    // div(1, w) for many models: under the constant's key they would hit its cap (and outlive the models).
    for (let i = 0; i < 100; i++) {
      const lin = new nn.Linear(3, 2, { rng: new E.Rng(i) });
      E.div(1, lin.weight);
      E.resetParamCacheStats();
      E.div(1, lin.weight);
      expect(E.paramCacheStats().hits, `model ${i}`).to.equal(1);
    }
  });

  it('attributes that differ only in the sign of zero are different keys', () => {
    const lin = new nn.Linear(4, 2, { rng: new E.Rng(4) });
    const sig = (t: Tensor): string[] => Array.from(t.data, (v) => (Object.is(v, -0) ? '-0' : String(v)));
    const pos = E.clamp(lin.weight, null, 0);
    const neg = E.clamp(lin.weight, null, -0);
    expect(sig(neg).filter((v) => v === '-0').length).to.be.greaterThan(0);
    expect(sig(neg)).to.deep.equal(sig(uncached(() => E.clamp(lin.weight, null, -0))));
    expect(sig(pos)).to.deep.equal(sig(uncached(() => E.clamp(lin.weight, null, 0))));
  });

  it('keys include the kernel set, and setParamCache(false) turns it off', () => {
    const lin = new nn.Linear(300, 2, { rng: new E.Rng(3) });
    const backend = E.getKernelBackend();
    E.resetParamCacheStats();
    E.clamp(lin.weight, null, 0);
    E.setKernelBackend(backend === 'ts' ? 'wasm' : 'ts');
    try {
      E.clamp(lin.weight, null, 0);
    } finally {
      E.setKernelBackend(backend);
    }
    const switched = E.getKernelBackend() === backend ? E.paramCacheStats() : null;
    // Where the WebAssembly kernels are unavailable both calls run the TypeScript kernels: one hit.
    expect(switched?.hits).to.be.oneOf([0, 1]);
    E.resetParamCacheStats();
    uncached(() => E.clamp(lin.weight, null, 0));
    expect(E.paramCacheStats()).to.deep.include({ hits: 0, misses: 0 });
  });

  it('memoDerived keeps only the result of its ops, sees in-place writes, and equals the ops bit for bit', () => {
    const lin = new nn.Linear(40, 6, { rng: new E.Rng(8) }).to('float64');
    // Detached, as a rule's ordinary explanation sees it: a result that requires grad is not cached.
    const w = lin.weight.detach();
    expect(E.memoDerived('spec-graph', [lin.weight], () => E.mul(lin.weight, 2)).requiresGrad).to.equal(true);
    const chain = (p: Tensor): Tensor => E.add(p, E.mul(E.clamp(p, 0, null), 0.25));
    E.resetParamCacheStats();
    const first = E.memoDerived('spec-chain', [w], () => chain(w));
    // One value stored (the result), none of the steps: a later clamp of the weight is a miss.
    expect(E.paramCacheStats()).to.deep.include({ hits: 0, misses: 1 });
    const again = E.memoDerived('spec-chain', [w], () => chain(w));
    expect(again.data).to.equal(first.data);
    expect(E.paramCacheStats().hits).to.equal(1);
    E.resetParamCacheStats();
    E.clamp(w, 0, null);
    expect(E.paramCacheStats()).to.deep.include({ hits: 0, misses: 1 });
    expect(bits(first)).to.deep.equal(bits(uncached(() => chain(w))));
    // An unreported write: the next request recomputes from the new contents.
    w.data[3] = -w.data[3]! - 1;
    const written = E.memoDerived('spec-chain', [w], () => chain(w));
    expect(written.data).to.not.equal(first.data);
    expect(bits(written)).to.deep.equal(bits(uncached(() => chain(w))));
    // With the cache off it only computes.
    E.resetParamCacheStats();
    uncached(() => E.memoDerived('spec-chain', [w], () => chain(w)));
    expect(E.paramCacheStats()).to.deep.include({ hits: 0, misses: 0 });
  });

  it('Gamma caches W + gamma W+ and W + gamma W- only, and its relevance equals the uncached one bit for bit', () => {
    const model = new models.VGG({ cfg: [4, 'M', 8], numClasses: 3, hidden: 6, poolSize: 2, rng: new E.Rng(9) }).to('float64');
    model.eval();
    const xv = E.randn([1, 3, 8, 8], { rng: new E.Rng(10), dtype: 'float64' });
    const composite = composites.epsilonGammaBox({ low: -3, high: 3 });
    const run = (createGraph = false): Tensor => {
      const rec = attribution.recordForward(model, xv);
      return rec.attribute(attribution.oneHotSeed(rec.output, [2]), { composite, createGraph }).relevance;
    };
    const reference = uncached(() => run());
    E.resetParamCacheStats();
    const first = run();
    // One Gamma conv: its two modified weights and two modified biases, not the clamps and products
    // leading to them (9 values were cached before memoDerived).
    expect(E.paramCacheStats().misses).to.be.at.most(4);
    const afterFirst = E.paramCacheStats().misses;
    E.resetParamCacheStats();
    const second = run();
    expect(E.paramCacheStats().misses).to.equal(0);
    expect(bits(first)).to.deep.equal(bits(reference));
    expect(bits(second)).to.deep.equal(bits(reference));
    expect(afterFirst).to.be.greaterThan(0);
    // A recorded backward still records the modifier's ops (and caches them as single ops).
    expect(bits(run(true))).to.deep.equal(bits(uncached(() => run(true))));
  });
});

describe('LRP shortcuts', () => {
  it('clamp with nothing out of bounds shares the storage; values (NaN, -0) and gradients are those of the copy', () => {
    const x = E.tensor([0, -0, 3, NaN, 2.5], { dtype: 'float64' }).requireGrad();
    const y = E.clamp(x, 0, null);
    expect(y.data).to.equal(x.data);
    expect(Array.from(y.data).map((v) => (Object.is(v, -0) ? '-0' : v))).to.deep.equal([0, '-0', 3, NaN, 2.5]);
    const [g] = E.grad(E.sum(E.mul(y, E.tensor([1, 2, 3, 4, 5], { dtype: 'float64' }))), [x]);
    // PyTorch's mask (x >= lo) & (x <= hi) is false at NaN.
    expect(g!.toArray()).to.deep.equal([1, 2, 3, 0, 5]);
    const z = E.clamp(x, null, 1);
    expect(z.data).to.not.equal(x.data);
    expect(Array.from(z.data)).to.deep.equal([0, -0, 1, NaN, 1]);
  });


  it('x + 0 shares x only where that is bitwise the sum; clamping to a 0 bound gives +0 everywhere, or copies', () => {
    const sig = (d: ArrayLike<number>): string[] => Array.from(d, (v) => (Object.is(v, -0) ? '-0' : String(v)));
    const f64 = { dtype: 'float64' as const };
    const a = E.tensor([1, -2, NaN, 0, Infinity], f64);
    const zeros = E.tensor([0, 0, -0, 0, 0], f64);
    const s1 = E.add(a, zeros);
    expect(s1.data).to.equal(a.data);
    expect(sig(E.add(zeros, a).data)).to.deep.equal(sig(a.data));
    // -0 + +0 is +0: with a -0 in x the sum is computed.
    const withNegZero = E.tensor([1, -0, 3, 4, 5], f64);
    const s2 = E.add(withNegZero, E.zeros([5], f64));
    expect(s2.data).to.not.equal(withNegZero.data);
    expect(sig(s2.data)).to.deep.equal(['1', '0', '3', '4', '5']);

    const relu = E.tensor([0, 2, 0.5, 7], f64);
    expect(sig(E.clamp(relu, null, 0).data)).to.deep.equal(['0', '0', '0', '0']);
    expect(sig(E.clamp(E.tensor([-0, 2], f64), null, 0).data)).to.deep.equal(['-0', '0']);
    expect(sig(E.clamp(E.tensor([-1, -3], f64), 0, null).data)).to.deep.equal(['0', '0']);
    expect(sig(E.clamp(E.tensor([NaN, 3], f64), null, 0).data)).to.deep.equal(['NaN', '0']);
  });

  it('the fused stabilized divide equals div(r, stabilize(y)) bit for bit in float64, within one rounding in float32', () => {
    const rng = new E.Rng(11);
    const y = E.mul(E.randn([4, 50], { dtype: 'float64', rng }), E.tensor([1e-7, 1, 1e3, 0], { dtype: 'float64' }).reshape([4, 1]));
    const r = E.randn([4, 50], { dtype: 'float64', rng });
    expect(bits(E.stabilizedDiv(r, y, 1e-6))).to.deep.equal(bits(E.div(r, E.stabilizeShift(y, 1e-6))));
    const r32 = E.cast(r, 'float32');
    const y32 = E.cast(y, 'float32');
    const fused = E.stabilizedDiv(r32, y32, 1e-6).data;
    const twoStep = E.div(r32, E.stabilizeShift(y32, 1e-6)).data;
    fused.forEach((v, i) => expect(Math.abs(v - twoStep[i]!)).to.be.at.most(2.5e-7 * Math.abs(twoStep[i]!)));
  });

  it('a zero-marked storage that becomes a parameter and is trained is tested again', () => {
    const w0 = E.clamp(E.randn([2, 3, 3, 3], { dtype: 'float64', rng: new E.Rng(5) }), 0, 0);
    expect(E.isAllZero(w0)).to.equal(true);
    const conv = new nn.Conv2d(3, 2, 3, { bias: false }).to('float64');
    conv.registerParameter('weight', w0.detach());
    const x = E.randn([1, 3, 4, 4], { dtype: 'float64', rng: new E.Rng(6) });
    // One SGD step on sum(conv(x)) makes the weight nonzero; a stale zero mark would still call it zero.
    const opt = new nn.SGD(conv, { lr: 1 });
    E.sum(conv.call(x)).backward();
    opt.step();
    expect(E.isAllZero(conv.getParameter('weight')!)).to.equal(false);
    expect(E.isAllZero(conv.call(x))).to.equal(false);
  });

  it('conv2d of a zero input is the bias; non-finite weights still give NaN', () => {
    const w = E.randn([2, 3, 3, 3], { rng: new E.Rng(1), dtype: 'float64' });
    const b = E.tensor([0.5, -2], { dtype: 'float64' });
    const y = E.conv2d(E.zeros([1, 3, 4, 4], { dtype: 'float64' }), w, b, { padding: 1 });
    expect(y.toArray()).to.deep.equal([...Array(16).fill(0.5), ...Array(16).fill(-2)]);
    const bad = E.tensor(Array.from(w.data, (v, i) => (i === 4 ? Infinity : v)), { dtype: 'float64' });
    const z = E.conv2d(E.zeros([1, 3, 4, 4], { dtype: 'float64' }), E.reshape(bad, [2, 3, 3, 3]), b, { padding: 1 });
    expect(z.toArray().some(Number.isNaN)).to.equal(true);
  });

  it('ZPlus and AlphaBeta skip the VJP of all-zero negative inputs and give the same relevance', () => {
    const model = new nn.Sequential(
      new nn.Conv2d(3, 6, 3, { padding: 1, rng: new E.Rng(1) }),
      new nn.ReLU(),
      new nn.Conv2d(6, 6, 3, { padding: 1, rng: new E.Rng(2) }),
      new nn.ReLU(),
      new nn.Flatten(),
      new nn.Linear(6 * 8 * 8, 4, { rng: new E.Rng(3) }),
    ).to('float64');
    const x = E.randn([2, 3, 8, 8], { rng: new E.Rng(4), dtype: 'float64' });
    const inputGradOp = E.conv2dInputGradOp;
    const run = (rule: rules.Rule): { relevance: Tensor; inputGrads: number } => {
      let inputGrads = 0;
      const forward = inputGradOp.forward;
      (inputGradOp as { forward: typeof forward }).forward = (...a) => (inputGrads++, forward.apply(inputGradOp, a));
      try {
        const composite = new composites.MapComposite({ layerMap: [['Convolution', rule], ['Dense', rules.epsilonRule()]] });
        const rec = attribution.recordForward(model, x);
        return { relevance: rec.attribute(attribution.oneHotSeed(rec.output, [0, 2]), { composite }).relevance, inputGrads };
      } finally {
        (inputGradOp as { forward: typeof forward }).forward = forward;
      }
    };
    // The same rules with their reducer as an opaque function: nothing tells the backward that it weights each term by its input.
    const unskipped = (r: rules.Rule): rules.Rule => {
      const spec = (r as unknown as { spec: rules.BasicRuleSpec }).spec;
      expect(spec.reducer).to.be.instanceOf(rules.InputTimesGradient);
      return new rules.BasicRule({ ...spec, reducer: (xs, gs) => rules.reduce(spec.reducer, xs, gs) });
    };
    for (const rule of [rules.zPlusRule(), rules.alphaBetaRule()]) {
      const fast = run(rule);
      const full = run(unskipped(rule));
      // The second conv's input is a ReLU output: its negative-part terms vanish (2 of 4 VJPs for
      // AlphaBeta, 1 of 2 for ZPlus); the first conv sees the raw input and skips nothing.
      expect(fast.inputGrads, rule.name).to.be.lessThan(full.inputGrads);
      const diff = Math.max(...Array.from(fast.relevance.data, (v, i) => Math.abs(v - full.relevance.data[i]!)));
      expect(diff, rule.name).to.equal(0);
    }
  });
});
