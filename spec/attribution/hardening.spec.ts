/**
 * Silent wrong answers, each of which a user can run into without an error: explaining a recording
 * made under noGrad, NaN hidden by ops, prototype names as keys, a recording reused after an
 * in-place write.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import * as E from '../../engine/index.js';
import type { Tensor } from '../../engine/index.js';
import { compositeFromSpec } from '../../composites/index.js';
import { ruleFromSpec } from '../../rules/index.js';
import { canonizerFrom } from '../../canonizers/index.js';
import { getColorMap } from '../../image/index.js';
import { buildFromSpec } from '../../models/index.js';
import { parseSafetensors, SafetensorsError, serializeSafetensors } from '../../engine/safetensors.js';
import { ExplainError, oneHotSeed, recordForward } from '../../attribution/index.js';
import { Conv2d, Flatten, Linear, ReLU, Sequential, SGD, StateDictError, tensorToRaw } from '../../nn/index.js';

const f64 = 'float64' as const;

function smallModel(seed = 1): Sequential {
  const rng = new E.Rng(seed);
  return new Sequential(new Conv2d(2, 3, 3, { padding: 1, dtype: f64, rng }), new ReLU(), new Flatten(), new Linear(3 * 4 * 4, 3, { dtype: f64, rng })).eval();
}

describe('hardening: recording under noGrad', () => {
  const model = smallModel();
  const x = E.randn([1, 2, 4, 4], { dtype: f64, rng: new E.Rng(2) });
  const composite = compositeFromSpec({ name: 'epsilon_plus' });
  const explain = (createGraph = false): Tensor => {
    const rec = recordForward(model, x);
    return rec.attribute(oneHotSeed(rec.output, [1]), { composite, createGraph }).relevance;
  };

  it('recordForward ignores an outer noGrad: the same relevance inside and outside, never silent zeros', () => {
    const outside = explain();
    const inside = E.noGrad(() => explain());
    expect(outside.toArray().some((v) => v !== 0)).to.equal(true);
    expect(inside.toArray()).to.deep.equal(outside.toArray());
  });

  it('attribute with createGraph under noGrad still records the backward', () => {
    const r = E.noGrad(() => explain(true));
    expect(r.requiresGrad).to.equal(true);
    const [g] = E.grad(E.sum(E.mul(r, r)), model.parameters()[0]!);
    expect(g).to.not.equal(null);
  });

  it('a forward that cuts the graph is a clear error, not a zero relevance', () => {
    const rec = recordForward((t: Tensor) => model.call(t.detach()), x);
    expect(() => rec.attribute(oneHotSeed(rec.output, [0]), { composite })).to.throw(ExplainError, /does not depend on the input/);
  });
});

describe('hardening: NaN propagates as in PyTorch', () => {
  const special = fc.constantFrom(NaN, Infinity, -Infinity, 0, -0, 1, -1);
  const value = fc.oneof(special, fc.double({ min: -1e6, max: 1e6, noNaN: true }));
  // 5 elements run the JavaScript loops, 300 the WebAssembly kernels (above WASM_ELEMENTWISE_MIN).
  const arrays = fc.oneof(fc.array(value, { minLength: 4, maxLength: 8 }), fc.array(value, { minLength: 300, maxLength: 304 }));
  const even = (a: number[]): number[] => (a.length % 2 ? a.slice(1) : a);

  for (const dtype of ['float32', 'float64'] as const) {
    for (const backend of ['wasm', 'ts'] as const) {
      it(`relu, clamp, maximum, minimum, comparisons, max, max-pool (${dtype}, ${backend} kernels)`, () => {
        const prev = E.getKernelBackend();
        E.setKernelBackend(backend);
        try {
          fc.assert(
            fc.property(arrays, fc.double({ min: -2, max: 0, noNaN: true }), fc.double({ min: 0, max: 2, noNaN: true }), (raw, lo, hi) => {
              const vals = even(raw);
              const T = dtype === 'float32' ? Float32Array : Float64Array;
              const xs = Array.from(new T(vals));
              const x = new E.Tensor(new T(vals), [vals.length]);
              const lo32 = dtype === 'float32' ? Math.fround(lo) : lo;
              const hi32 = dtype === 'float32' ? Math.fround(hi) : hi;
              const nanAt = (t: Tensor): boolean[] => Array.from(t.data, (v) => Number.isNaN(v));
              const isNaN = xs.map((v) => Number.isNaN(v));
              for (const [name, y] of [
                ['relu', E.relu(x)],
                ['clamp', E.clamp(x, lo32, hi32)],
                ['clamp(lo)', E.clamp(x, lo32, null)],
                ['maximum', E.maximum(x, E.zerosLike(x))],
                ['minimum', E.minimum(E.zerosLike(x), x)],
                ['leaky_relu', E.leakyRelu(x, 0.1)],
                ['abs', E.abs(x)],
              ] as const) {
                expect(nanAt(y), name).to.deep.equal(isNaN);
              }
              expect(Array.from(E.relu(x).data)).to.deep.equal(xs.map((v) => (v <= 0 ? 0 : v)));
              // Comparisons with NaN are false, `ne` true (IEEE 754, as torch.gt/lt/eq/ne).
              expect(Array.from(E.gt(x, 0).data)).to.deep.equal(xs.map((v) => (v > 0 ? 1 : 0)));
              expect(Array.from(E.ge(x, E.zerosLike(x)).data)).to.deep.equal(xs.map((v) => (v >= 0 ? 1 : 0)));
              expect(Array.from(E.eq(x, x).data)).to.deep.equal(xs.map((v) => (v === v ? 1 : 0)));
              expect(Array.from(E.ne(x, x).data)).to.deep.equal(xs.map((v) => (v !== v ? 1 : 0)));
              // max and max-pool: NaN if any element of the window is NaN, the plain maximum otherwise.
              const m = E.max(x, 0).item();
              if (isNaN.some(Boolean)) expect(m).to.be.NaN;
              else expect(m).to.equal(Math.max(...xs));
              const pooled = Array.from(E.maxPool2d(E.reshape(x, [1, 1, 2, xs.length / 2]), [2, 1]).data);
              const half = xs.length / 2;
              pooled.forEach((v, j) => {
                const a = xs[j]!;
                const b = xs[j + half]!;
                if (Number.isNaN(a) || Number.isNaN(b)) expect(v, `pool ${j}`).to.be.NaN;
                else expect(v, `pool ${j}`).to.equal(Math.max(a, b));
              });
            }),
            { numRuns: 60 },
          );
        } finally {
          E.setKernelBackend(prev);
        }
      });
    }
  }

  it('sign(NaN) is NaN (NumPy; a deliberate difference from torch.sign, which returns 0, pytorch#41245)', () => {
    expect(Array.from(E.sign(new E.Tensor(new Float64Array([NaN, -2, 0, 3]), [4])).data)).to.deep.equal([NaN, -1, 0, 1]);
  });

  it('max over -Infinity and finite values is the finite maximum, not NaN (-inf * 0)', () => {
    expect(E.max(new E.Tensor(new Float64Array([-Infinity, 5, -Infinity]), [3]), 0).item()).to.equal(5);
    expect(E.max(new E.Tensor(new Float32Array([-Infinity, -Infinity]), [2]), 0).item()).to.equal(-Infinity);
  });
});

describe('hardening: names from files and users', () => {
  const protoNames = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'prototype', '__defineGetter__', 'isPrototypeOf'];
  const names = fc.oneof(fc.constantFrom(...protoNames), fc.string({ maxLength: 12 }));
  /** Succeeds, or throws one of the library's typed errors; never a TypeError from a prototype lookup. */
  const typedOrOk = (fn: () => unknown): void => {
    try {
      fn();
    } catch (e) {
      expect(e, String(e)).to.be.instanceOf(E.LrpTapeError);
    }
  };

  it('prototype names as composite, rule, canonizer, colour map, model type, layer and state-dict names (property)', () => {
    fc.assert(
      fc.property(names, (n) => {
        typedOrOk(() => compositeFromSpec({ name: n }));
        typedOrOk(() => compositeFromSpec({ name: 'epsilon_plus', args: Object.fromEntries([[n, 1]]) }));
        typedOrOk(() => ruleFromSpec({ rule: n }));
        typedOrOk(() => ruleFromSpec(Object.fromEntries([['rule', 'Epsilon'], [n, 1]]) as { rule: string }));
        typedOrOk(() => canonizerFrom(n));
        typedOrOk(() => getColorMap(n));
        typedOrOk(() => buildFromSpec({ type: n }));
        typedOrOk(() => compositeFromSpec({ name: 'layer_map', layer_map: [[n, { rule: 'Epsilon' }]] }));
        if (n === '' || n === 'r' || n.includes('.')) return;
        const model = buildFromSpec({ type: 'Sequential', children: [[n, { type: 'Linear', in_features: 2, out_features: 2 }], ['r', { type: 'ReLU' }]] });
        const sd = model.stateDict();
        expect([...sd.keys()]).to.deep.equal([`${n}.weight`, `${n}.bias`]);
        model.loadStateDict(Object.fromEntries(sd));
        expect(() => model.loadStateDict(new Map([...sd, [n, E.zeros([1])]]))).to.throw(StateDictError, /Unexpected key/);
        const bytes = serializeSafetensors(new Map([[n, tensorToRaw(E.zeros([2]))]]), Object.fromEntries([[n, 'v']]));
        const back = parseSafetensors(bytes);
        expect([...back.tensors.keys()]).to.deep.equal([n]);
        expect(back.metadata[n]).to.equal('v');
      }),
      { numRuns: 150 },
    );
  });

  it('names with terminal escapes are escaped and long names cut in messages', () => {
    const evil = '\u001b]0;pwned\u0007\u001b[2J' + 'x'.repeat(5000);
    const model = buildFromSpec({ type: 'Sequential', children: [['0', { type: 'Linear', in_features: 2, out_features: 2 }]] });
    let msg = '';
    try {
      model.loadStateDict(new Map([...model.stateDict(), [evil, E.zeros([1])]]));
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).to.match(/Unexpected key\(s\) \(1\): \\x1b\]0;pwned\\x07\\x1b\[2J/);
    expect(msg).to.not.match(/[\u0000-\u0009\u000b-\u001f]/);
    expect(msg.length).to.be.below(1000);
    const header = JSON.stringify({ [evil]: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } });
    const raw = new Uint8Array(8 + header.length + 4);
    new DataView(raw.buffer).setBigUint64(0, BigInt(header.length), true);
    raw.set(new TextEncoder().encode(header), 8);
    const err = (() => {
      try {
        parseSafetensors(raw);
      } catch (e) {
        return e as Error;
      }
      return null;
    })();
    expect(err).to.be.instanceOf(SafetensorsError);
    expect(err!.message).to.not.match(/[\u0000-\u001f]/);
    expect(err!.message.length).to.be.below(600);
    expect(() => compositeFromSpec({ name: evil })).to.throw(E.LrpTapeError).with.property('message').that.does.not.match(/[\u0000-\u001f]/);
  });
});

describe('hardening: a recording reused after an in-place weight write', () => {
  const x = E.randn([1, 2, 4, 4], { dtype: f64, rng: new E.Rng(7) });
  const composite = compositeFromSpec({ name: 'epsilon_plus' });

  for (const cache of [true, false]) {
    it(`optimizer.step() and a direct write are refused on reuse, a fresh recording works (param cache ${cache ? 'on' : 'off'})`, () => {
      const prev = E.setParamCache(cache);
      try {
        const model = smallModel(3);
        const rec = recordForward(model, x);
        const seed = oneHotSeed(rec.output, [0]);
        rec.attribute(seed, { composite });
        rec.attribute(seed, { composite }); // reuse without a write is fine
        const opt = new SGD(model.parameters(), { lr: 0.1 });
        const out = model.call(x);
        E.backward(E.sum(out));
        opt.step();
        expect(() => rec.attribute(seed, { composite })).to.throw(ExplainError, /parameter '.*' was modified in place .* record the forward again/).with.property('code', 'ERR_STALE_RECORDING');
        const again = recordForward(model, x);
        expect(again.attribute(oneHotSeed(again.output, [0]), { composite }).relevance.toArray().some((v) => v !== 0)).to.equal(true);
        if (cache) {
          // A hand edit nobody reported is found by comparing with the cache's copy.
          const w = model.parameters()[0]!;
          (w.data as Float64Array)[0] = (w.data as Float64Array)[0]! + 1;
          expect(() => again.attribute(oneHotSeed(again.output, [0]), { composite })).to.throw(ExplainError, /modified in place/);
        }
      } finally {
        E.setParamCache(prev);
      }
    });
  }

  it('a canonized view notices a write to an original (merged) weight', async () => {
    const { canonize, sequentialMergeBatchNorm } = await import('../../canonizers/index.js');
    const { BatchNorm2d } = await import('../../nn/index.js');
    const rng = new E.Rng(9);
    const model = new Sequential(new Conv2d(2, 2, 3, { padding: 1, dtype: f64, rng }), new BatchNorm2d(2, { dtype: f64 }), new ReLU(), new Flatten(), new Linear(32, 2, { dtype: f64, rng })).eval();
    const rec = recordForward(canonize(model, [sequentialMergeBatchNorm()]), x);
    E.markModified(model.parameters()[0]!);
    expect(() => rec.attribute(oneHotSeed(rec.output, [0]), { composite })).to.throw(ExplainError, /'0\.weight' was modified in place/);
  });
});
