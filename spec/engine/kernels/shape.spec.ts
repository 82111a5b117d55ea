import { expect } from 'chai';
import fc from 'fast-check';
import * as E from '../../../engine/index.js';
import type { Tensor } from '../../../engine/index.js';
import { broadcastShapes } from '../../../engine/ops/util.js';

/**
 * The broadcasting, reduction and window kernels merge dims and switch loop orders by shape (short
 * trailing axes run column-wise): every path is compared with index-by-index reference loops on
 * random shapes that mix size-1, short and long dims.
 */
const f64 = { dtype: 'float64' as const };
const dim = fc.oneof(fc.constant(1), fc.integer({ min: 2, max: 3 }), fc.integer({ min: 5, max: 11 }));
const shapeArb = fc.array(dim, { minLength: 0, maxLength: 5 });

function strides(shape: readonly number[]): number[] {
  const s = shape.map(() => 0);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/** Every multi-index of `shape`, in row-major order. */
function* indices(shape: readonly number[]): Generator<number[]> {
  const n = shape.reduce((a, b) => a * b, 1);
  const st = strides(shape);
  for (let i = 0; i < n; i++) yield shape.map((d, k) => Math.floor(i / st[k]!) % d);
}

const at = (t: Tensor, idx: readonly number[]): number => {
  const st = strides(t.shape);
  return t.data[idx.reduce((p, v, k) => p + v * st[k]!, 0)]!;
};

const values = (shape: readonly number[], seed: number): Tensor => E.randn(shape, { ...f64, rng: new E.Rng(seed) });

/** A shape broadcastable to `shape`: some dims set to 1, some leading dims dropped. */
const broadcastArb = (shape: number[]) =>
  fc.tuple(fc.array(fc.boolean(), { minLength: shape.length, maxLength: shape.length }), fc.integer({ min: 0, max: shape.length })).map(([ones, drop]) =>
    shape.map((d, i) => (ones[i] ? 1 : d)).slice(drop),
  );

describe('shape kernels vs index-by-index loops', () => {
  it('binary ops and expand broadcast like NumPy', () => {
    fc.assert(
      fc.property(
        shapeArb.chain((s) => fc.tuple(fc.constant(s), broadcastArb(s), broadcastArb(s))),
        fc.integer({ min: 1, max: 1000 }),
        ([out, sa, sb], seed) => {
          const a = values(sa, seed);
          const b = values(sb, seed + 1);
          const pad = (idx: number[], s: readonly number[]): number[] => idx.slice(idx.length - s.length).map((v, k) => (s[k] === 1 ? 0 : v));
          const full = broadcastShapes(sa, sb);
          const ops: [string, (x: Tensor, y: Tensor) => Tensor, (x: number, y: number) => number][] = [
            ['add', E.add, (x, y) => x + y],
            ['sub', E.sub, (x, y) => x - y],
            ['mul', E.mul, (x, y) => x * y],
            ['div', E.div, (x, y) => x / y],
          ];
          for (const [name, op, f] of ops) {
            const r = op(a, b);
            expect(r.shape, name).to.deep.equal(full);
            let i = 0;
            for (const idx of indices(full)) expect(r.data[i++], `${name} ${JSON.stringify(sa)} ${JSON.stringify(sb)}`).to.equal(f(at(a, pad(idx, sa)), at(b, pad(idx, sb))));
          }
          const e = E.expand(a, out);
          let i = 0;
          for (const idx of indices(out)) expect(e.data[i++]).to.equal(at(a, pad(idx, sa)));
        },
      ),
      { numRuns: 150, seed: 7 },
    );
  });

  it('sum over any set of axes', () => {
    fc.assert(
      fc.property(
        shapeArb.chain((s) => fc.tuple(fc.constant(s), fc.subarray([...s.keys()]))),
        fc.integer({ min: 1, max: 1000 }),
        ([shape, axes], seed) => {
          const x = values(shape, seed);
          const r = E.sum(x, axes, true);
          const kept = shape.map((d, i) => (axes.includes(i) ? 1 : d));
          const ref = new Float64Array(kept.reduce((a, b) => a * b, 1));
          const ks = strides(kept);
          for (const idx of indices(shape)) ref[idx.reduce((p, v, k) => p + (axes.includes(k) ? 0 : v * ks[k]!), 0)] += at(x, idx);
          expect(r.shape).to.deep.equal(kept);
          ref.forEach((v, i) => expect(Math.abs(r.data[i]! - v)).to.be.at.most(1e-12 * (1 + Math.abs(v))));
        },
      ),
      { numRuns: 150, seed: 8 },
    );
  });

  it('slice and its adjoint (pad / embed) with steps', () => {
    const axisSpec = (d: number) =>
      fc.tuple(fc.integer({ min: 0, max: d }), fc.integer({ min: 0, max: d }), fc.integer({ min: 1, max: 3 })).map(([a, b, step]) => [Math.min(a, b), Math.max(a, b), step] as const);
    fc.assert(
      fc.property(
        shapeArb.filter((s) => s.length > 0).chain((s) => fc.tuple(fc.constant(s), fc.tuple(...s.map(axisSpec)))),
        fc.integer({ min: 1, max: 1000 }),
        ([shape, spec], seed) => {
          const x = values(shape, seed);
          const r = E.slice(x, spec);
          const sizes = spec.map(([a, b, st]) => (b > a ? Math.ceil((b - a) / st) : 0));
          expect(r.shape).to.deep.equal(sizes);
          let i = 0;
          for (const idx of indices(sizes)) expect(r.data[i++]).to.equal(at(x, idx.map((v, k) => spec[k]![0] + v * spec[k]![2])));
          // The VJP of slice scatters into zeros: <slice(x), g> = <x, embed(g)>.
          const g = values(sizes, seed + 2);
          const xi = x.detach().requireGrad();
          const [back] = E.grad(E.sum(E.mul(E.slice(xi, spec), g)), [xi]);
          const expected = new Float64Array(x.size);
          const xs = strides(shape);
          let j = 0;
          for (const idx of indices(sizes)) expected[idx.reduce((p, v, k) => p + (spec[k]![0] + v * spec[k]![2]) * xs[k]!, 0)] = g.data[j++]!;
          expect(Array.from(back!.data)).to.deep.equal(Array.from(expected));
        },
      ),
      { numRuns: 150, seed: 9 },
    );
  });

  it('max pooling picks what PyTorch picks: the first maximum, or the last NaN of the window', () => {
    const f64v = (v: number[], shape: number[]): Tensor => E.tensor(v, { dtype: 'float64' }).reshape(shape);
    // One window of 1 x 5: ties -> the first 3; with NaNs -> the last NaN.
    const ties = E.maxPool2dWithIndices(f64v([1, 3, 2, 3, 0], [1, 1, 1, 5]), [1, 5]);
    expect(Array.from(ties.indices)).to.deep.equal([1]);
    const nans = E.maxPool2dWithIndices(f64v([NaN, 3, NaN, 9, 0], [1, 1, 1, 5]), [1, 5]);
    expect(Array.from(nans.indices)).to.deep.equal([2]);
    expect(Number.isNaN(nans.output.data[0]!)).to.equal(true);
    // -Infinity everywhere: the first tap inside the image (padding never wins).
    const inf = E.maxPool2dWithIndices(f64v([-Infinity, -Infinity, -Infinity, -Infinity], [1, 1, 2, 2]), 3, { stride: 2, padding: 1 });
    expect(Array.from(inf.indices)).to.deep.equal([0]);
  });

  it('max pooling with padding, dilation and ceil mode matches a reference loop over all taps (ties, NaN, signed zeros, infinities)', () => {
    fc.assert(
      fc.property(
        fc.record({ H: fc.integer({ min: 3, max: 9 }), W: fc.integer({ min: 3, max: 9 }), K: fc.integer({ min: 1, max: 3 }), S: fc.integer({ min: 1, max: 3 }), D: fc.integer({ min: 1, max: 2 }), ceil: fc.boolean() }),
        fc.integer({ min: 1, max: 1000 }),
        ({ H, W, K, S, D, ceil }, seed) => {
          const P = Math.floor(K / 2);
          if ((K - 1) * D + 1 > H + 2 * P || (K - 1) * D + 1 > W + 2 * P) return;
          // Rounded values make ties common; every fifth value is special (NaN, the two zeros, infinities).
          const specials = [NaN, -0, 0, -Infinity, Infinity];
          const values = Array.from(E.randn([2, H, W], { dtype: 'float64', rng: new E.Rng(seed) }).data, (v, i) =>
            (i * 7 + seed) % 5 === 0 ? specials[(i + seed) % specials.length]! : Math.round(v * 2));
          const x = E.tensor(values, { dtype: 'float64' }).reshape([1, 2, H, W]);
          const { output, indices } = E.maxPool2dWithIndices(x, K, { stride: S, padding: P, dilation: D, ceilMode: ceil });
          const [, , OH, OW] = output.shape as number[];
          let o = 0;
          for (let p = 0; p < 2; p++) {
            for (let oh = 0; oh < OH!; oh++) {
              for (let ow = 0; ow < OW!; ow++) {
                let best = -Infinity;
                let bi = -1;
                for (let kh = 0; kh < K; kh++) {
                  for (let kw = 0; kw < K; kw++) {
                    const ih = oh * S - P + kh * D;
                    const iw = ow * S - P + kw * D;
                    if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                    const q = p * H * W + ih * W + iw;
                    // PyTorch's max_pool2d kernel: `(val > maxval) || std::isnan(val)`.
                    if (bi < 0 || x.data[q]! > best || Number.isNaN(x.data[q]!)) {
                      best = x.data[q]!;
                      bi = q;
                    }
                  }
                }
                expect(indices[o++]).to.equal(bi);
              }
            }
          }
        },
      ),
      { numRuns: 100, seed: 10 },
    );
  });
});
