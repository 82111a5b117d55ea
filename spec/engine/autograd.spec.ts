import { expect } from 'chai';
import * as E from '../../engine/index.js';

const f64 = { dtype: 'float64' as const };

describe('autograd tape', () => {
  it('grad of a non-scalar output needs gradOutputs, with a clear message', () => {
    const x = E.randn([3], f64).requireGrad();
    expect(() => E.grad(x.mul(2), x)).to.throw(/give gradOutputs for non-scalar outputs/);
  });

  it('refuses a second backward through a released graph, and allows it with retainGraph', () => {
    const x = E.randn([3], f64).requireGrad();
    const y = x.exp().sum();
    E.grad(y, x);
    expect(() => E.grad(y, x)).to.throw(/a second time/);
    const z = x.exp().sum();
    const [g1] = E.grad(z, x, { retainGraph: true });
    const [g2] = E.grad(z, x);
    expect(g2!.toArray()).to.deep.equal(g1!.toArray());
  });

  it('allowUnused gives null for an unused input and throws otherwise', () => {
    const x = E.randn([2], f64).requireGrad();
    const u = E.randn([2], f64).requireGrad();
    const y = x.sum();
    expect(() => E.grad(y, [x, u], { retainGraph: true })).to.throw(/not used by the outputs/);
    expect(E.grad(y, [x, u], { allowUnused: true })[1]).to.equal(null);
  });

  it('backward accumulates into .grad of leaves', () => {
    const x = E.tensor([1, 2, 3], f64).requireGrad();
    x.mul(x).sum().backward();
    x.mul(3).sum().backward();
    expect(x.grad!.toArray()).to.deep.equal([5, 7, 9]);
  });

  it('noGrad records nothing', () => {
    const x = E.randn([2], f64).requireGrad();
    const y = E.noGrad(() => x.mul(2));
    expect(y.node).to.equal(null);
    expect(y.requiresGrad).to.equal(false);
  });

  it('refuses to mix float32 and float64', () => {
    const a = E.ones([2], f64);
    const b = E.ones([2]);
    expect(() => a.add(b)).to.throw(/dtypes differ/);
  });

  it('numbers are weak scalars that keep the tensor dtype', () => {
    expect(E.ones([2]).mul(2).dtype).to.equal('float32');
    expect(E.ones([2], f64).mul(2).dtype).to.equal('float64');
  });

  it('gradient w.r.t. an intermediate tensor', () => {
    const x = E.tensor([1, 2], f64).requireGrad();
    const h = x.mul(3);
    const y = h.mul(h).sum();
    const [gh, gx] = E.grad(y, [h, x]);
    expect(gh!.toArray()).to.deep.equal([6, 12]);
    expect(gx!.toArray()).to.deep.equal([18, 36]);
  });

  it('third derivative of exp through createGraph', () => {
    const x = E.tensor([0.5], f64).requireGrad();
    const [g1] = E.grad(x.exp().sum(), x, { createGraph: true });
    const [g2] = E.grad(g1!.sum(), x, { createGraph: true });
    const [g3] = E.grad(g2!.sum(), x);
    expect(g3!.item()).to.be.closeTo(Math.exp(0.5), 1e-12);
  });

  it('rules swap a layer backward only in the grad call that passes them', () => {
    const x = E.tensor([1, -2, 3], f64).requireGrad();
    const { recording, result: y } = E.record(() =>
      E.runLayer({ kind: 'Activation', type: 'Test', name: 'act', inputs: [x], params: {}, fn: ([i]) => E.relu(i!) }, () => E.relu(x)),
    );
    expect(recording.layers.map((l) => l.name)).to.deep.equal(['act']);
    const seed = E.ones([3], f64);
    const [plain] = E.grad(y, x, { gradOutputs: seed, retainGraph: true });
    const [passed] = E.grad(y, x, { gradOutputs: seed, rules: () => (_layer, g) => [g], retainGraph: true });
    expect(plain!.toArray()).to.deep.equal([1, 0, 1]);
    expect(passed!.toArray()).to.deep.equal([1, 1, 1]);
  });
});

const bitsOf = (t: E.Tensor): string[] => Array.from(t.data as ArrayLike<number>, (v) => (Object.is(v, -0) ? '-0' : String(v)));

describe('clamp and relu VJPs without mask arrays (pass_within)', () => {
  const special = [NaN, Infinity, -Infinity, 0, -0, 0.5, -0.5, 1e-30, -1e-30, 2, -2, 0.25];
  for (const dtype of ['float32', 'float64'] as const) {
    const x = E.tensor([...special, ...special], { dtype });
    const g = E.tensor([...special, ...special.map((v) => -v).reverse()], { dtype });
    it(`${dtype}: the same bits as g * (lo <= x <= hi) and g * (x > 0), NaN and -0 included`, () => {
      for (const [lo, hi] of [[0, Infinity], [-Infinity, 0], [-0.5, 0.5], [-0, 2], [-Infinity, Infinity], [0.25, -0.25]] as const) {
        const masked = E.mul(g, E.mul(E.ge(x, lo), E.le(x, hi)));
        expect(bitsOf(E.passWithin(g, x, lo, hi)), `[${lo}, ${hi}]`).to.deep.equal(bitsOf(masked));
      }
      expect(bitsOf(E.passWithin(g, x, 0, Infinity, true))).to.deep.equal(bitsOf(E.mul(g, E.gt(x, 0))));
    });
  }

  it('a double backward through clamp and relu gives the bits of the mask products', () => {
    const x = E.randn([4, 5], { ...f64, rng: new E.Rng(3) }).requireGrad();
    const w = E.randn([4, 5], { ...f64, rng: new E.Rng(4) }).requireGrad();
    const f = (a: E.Tensor): E.Tensor => E.mul(E.relu(E.clamp(E.mul(a, w), -0.5, null)), a).sum();
    const [gx] = E.grad(f(x), x, { createGraph: true });
    const [gw] = E.grad(E.mul(gx!, gx!).sum(), w);
    // By hand: d/dx = relu(c) + x * w * [c > 0] * [x w >= -0.5] with c = clamp(x w, -0.5).
    const xw = E.mul(x.detach(), w.detach());
    const inner = E.mul(E.gt(E.clamp(xw, -0.5, null), 0), E.ge(xw, -0.5));
    const expected = E.add(E.relu(E.clamp(xw, -0.5, null)), E.mul(E.mul(x.detach(), w.detach()), inner));
    expect(bitsOf(gx!.detach())).to.deep.equal(bitsOf(expected));
    expect(gw!.shape).to.deep.equal([4, 5]);
  });
});

describe('gradient accumulation without a fresh array per contribution', () => {
  it('sums several contributions with the bits of the recorded adds', () => {
    const x = E.randn([3, 4], { ...f64, rng: new E.Rng(5) }).requireGrad();
    const cs = [1, 2, 3].map((s) => E.randn([3, 4], { ...f64, rng: new E.Rng(10 + s) }));
    const y = (): E.Tensor => E.add(E.add(E.mul(x, cs[0]!).sum(), E.mul(x, cs[1]!).sum()), E.add(E.mul(x, cs[2]!).sum(), E.exp(x).sum()));
    const [plain] = E.grad(y(), x);
    const [recorded] = E.grad(y(), x, { createGraph: true });
    expect(bitsOf(plain!)).to.deep.equal(bitsOf(recorded!.detach()));
  });

  it('never writes into a contribution someone holds: seeds, a VJP passing its gradient on, a returned gradient', () => {
    const x = E.randn([5], { ...f64, rng: new E.Rng(6) }).requireGrad();
    const seeds = [7, 8, 9].map((s) => E.randn([5], { ...f64, rng: new E.Rng(s) }));
    const before = seeds.map(bitsOf);
    // alias's VJP hands the seed itself to x: three contributions that are the caller's tensors.
    const [gx] = E.grad([E.alias(x), E.alias(x), E.alias(x)], x, { gradOutputs: seeds });
    expect(seeds.map(bitsOf)).to.deep.equal(before);
    const sum = E.add(E.add(seeds[0]!, seeds[1]!), seeds[2]!);
    const sumOtherOrder = E.add(E.add(seeds[2]!, seeds[1]!), seeds[0]!);
    expect([bitsOf(sum), bitsOf(sumOtherOrder)]).to.deep.include(bitsOf(gx!));

    // h gets three contributions (a sum the walk owns), is returned, and is passed on to x (add(h, h) gives the same tensor twice).
    const h = E.mul(x, 3);
    const y = E.add(E.add(E.mul(h, h).sum(), h.sum()), E.add(h, h).sum());
    const [gh, gx2] = E.grad(y, [h, x], { retainGraph: true });
    const [rh, rx] = E.grad(y, [h, x], { createGraph: true });
    expect(bitsOf(gh!)).to.deep.equal(bitsOf(rh!.detach()));
    expect(bitsOf(gx2!)).to.deep.equal(bitsOf(rx!.detach()));
  });
});

describe('VJPs that write into a gradient the backward owns (ownsGrad)', () => {
  it('clamp, relu and mul (W * s of a merged batch norm) give the bits of the recorded backward and touch no input', () => {
    const rng = new E.Rng(21);
    const w = E.randn([4, 3], { ...f64, rng }).requireGrad();
    const s = E.randn([4, 1], { ...f64, rng }).requireGrad();
    const cs = [0, 1, 2, 3].map(() => E.randn([4, 3], { ...f64, rng }));
    const before = [w, s, ...cs].map(bitsOf);
    const y = (): E.Tensor => {
      const merged = E.mul(w, s);
      const pos = E.clamp(merged, 0, null);
      const act = E.relu(E.add(merged, 0.1));
      return E.add(E.add(E.mul(pos, cs[0]!).sum(), E.mul(pos, cs[1]!).sum()), E.add(E.mul(act, cs[2]!).sum(), E.mul(act, cs[3]!).sum()));
    };
    const plain = E.grad(y(), [w, s]);
    const recorded = E.grad(y(), [w, s], { createGraph: true });
    expect(plain.map((g) => bitsOf(g!))).to.deep.equal(recorded.map((g) => bitsOf(g!.detach())));
    expect([w, s, ...cs].map(bitsOf)).to.deep.equal(before);
  });

  it('a gradient the caller asked for, or a hook saw, is never written into', () => {
    const x = E.randn([6], { ...f64, rng: new E.Rng(22) }).requireGrad();
    const h = E.mul(x, 2);
    const c = E.clamp(h, 0, null);
    const y = E.add(E.mul(c, 3).sum(), E.mul(c, 5).sum());
    const [gc, gh] = E.grad(y, [c, h], { retainGraph: true });
    // c's gradient is 3 + 5 everywhere, also after clamp's VJP ran on it.
    expect(Array.from(gc!.data as Float64Array)).to.deep.equal(new Array(6).fill(8));
    expect(Array.from(gh!.data as Float64Array)).to.deep.equal(Array.from(h.data as Float64Array, (v) => (v >= 0 ? 8 : 0)));

    const h2 = E.mul(x, 2);
    const { result: layerOut } = E.record(() =>
      E.runLayer({ kind: 'Activation', type: 'Test', name: 'act', inputs: [h2], params: {}, fn: ([i]) => E.clamp(i!, 0, null) }, () => E.clamp(h2, 0, null)),
    );
    const seen: number[][] = [];
    E.grad(E.add(E.mul(layerOut, 3).sum(), E.mul(layerOut, 5).sum()), x, {
      onLayerGrad: (_layer, g) => seen.push(Array.from(g.data as Float64Array)),
    });
    expect(seen).to.deep.equal([new Array(6).fill(8)]);
  });
});

describe('convolution gradients of a zero operand', () => {
  const conv = (x: E.Tensor, w: E.Tensor): E.Tensor => E.conv2d(x, w, null, { padding: 1 });
  it('are +0 without a kernel call when the other operand is finite, and NaN through the kernel when it is not', () => {
    const rng = new E.Rng(23);
    const x = E.zeros([1, 2, 5, 5], f64).requireGrad();
    const w = E.randn([3, 2, 3, 3], { ...f64, rng }).requireGrad();
    const seed = E.randn([1, 3, 5, 5], { ...f64, rng });
    const [gw] = E.grad(conv(x, w), w, { gradOutputs: seed });
    expect(bitsOf(gw!)).to.deep.equal(new Array(gw!.size).fill('0'));
    const [gwZeroSeed] = E.grad(conv(E.randn([1, 2, 5, 5], { ...f64, rng }), w), w, { gradOutputs: E.zeros([1, 3, 5, 5], f64) });
    expect(bitsOf(gwZeroSeed!)).to.deep.equal(new Array(gwZeroSeed!.size).fill('0'));
    const inf = E.tensor(Array.from({ length: 75 }, (_, i) => (i === 7 ? Infinity : 1)), f64).reshape([1, 3, 5, 5]);
    const [gwInf] = E.grad(conv(x, w), w, { gradOutputs: inf });
    expect(Array.from(gwInf!.data as Float64Array).some((v) => Number.isNaN(v))).to.equal(true);
  });

  it('the input gradient of a zero output gradient is +0', () => {
    const rng = new E.Rng(24);
    const x = E.randn([1, 2, 5, 5], { ...f64, rng }).requireGrad();
    const w = E.randn([3, 2, 3, 3], { ...f64, rng });
    const [gx] = E.grad(conv(x, w), x, { gradOutputs: E.zeros([1, 3, 5, 5], f64) });
    expect(bitsOf(gx!)).to.deep.equal(new Array(gx!.size).fill('0'));
  });
});
