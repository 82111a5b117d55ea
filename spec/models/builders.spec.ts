import { expect } from 'chai';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as E from '../../engine/index.js';
import { readSafetensorsFile } from '../../node/index.js';
import { rawToTensor, StateDictError } from '../../nn/index.js';
import { buildFromSpec, ModelSpecError, ResNet, VGG, resnet18, vgg11 } from '../../models/index.js';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'zennit');

interface Case {
  name: string;
  dtype?: 'float32' | 'float64';
  model: unknown;
  composite: unknown;
  attributor: { name: string };
}

/** Largest |actual - expected| must stay within FORMAT.md's per-tensor tolerance. */
function expectClose(actual: E.Tensor, expected: E.Tensor, dtype: string, what: string): void {
  expect([...actual.shape], `${what} shape`).to.deep.equal([...expected.shape]);
  let maxRef = 0;
  let worst = 0;
  for (let i = 0; i < expected.size; i++) {
    maxRef = Math.max(maxRef, Math.abs(expected.data[i]!));
    const d = Math.abs(actual.data[i]! - expected.data[i]!);
    worst = Number.isNaN(d) ? Infinity : Math.max(worst, d);
  }
  const tol = dtype === 'float32' ? 1e-4 * maxRef + 1e-6 : 1e-7 * maxRef + 1e-10;
  expect(worst, `${what}: max abs error ${worst} > tolerance ${tol}`).to.be.at.most(tol);
}

describe('models: reference cases (forward and plain gradient)', () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.safetensors')).sort();

  it('finds the reference cases', () => {
    expect(files.length).to.be.greaterThan(50);
  });

  for (const file of files) {
    it(file.replace(/\.safetensors$/, ''), () => {
      const st = readSafetensorsFile(join(DIR, file));
      const c = JSON.parse(st.metadata.case!) as Case;
      const dtype = c.dtype ?? 'float64';
      const t = (name: string): E.Tensor => {
        const raw = st.tensors.get(name);
        if (!raw) throw new Error(`${file}: no tensor '${name}'`);
        return rawToTensor(raw, name);
      };
      const params = new Map<string, E.Tensor>();
      for (const [k, raw] of st.tensors) if (k.startsWith('param/')) params.set(k.slice(6), rawToTensor(raw, k));

      const model = buildFromSpec(c.model, { dtype, rng: new E.Rng(1) });
      model.loadStateDict(params);
      model.eval();
      for (const [k, v] of model.stateDict()) {
        if (v.dtype !== 'int32') expect(v.dtype, k).to.equal(dtype);
      }
      const input = t('input');
      expect(input.dtype).to.equal(dtype);
      const gradientCase = c.composite === null && c.attributor.name === 'gradient';
      if (gradientCase) input.requireGrad();
      const out = model.call(input);
      expectClose(out, t('output'), dtype, 'output');
      if (gradientCase) {
        const [g] = E.grad(E.sum(E.mul(out, t('attr_output'))), input);
        expectClose(g!, t('relevance'), dtype, 'relevance');
      }
    });
  }
});

describe('models: buildFromSpec', () => {
  it('names unknown types and their path', () => {
    const spec = {
      type: 'Sequential',
      children: [
        ['0', { type: 'Linear', in_features: 2, out_features: 3 }],
        ['body', { type: 'Sequential', children: [['0', { type: 'ReLU' }], ['1', { type: 'GELU' }]] }],
      ],
    };
    expect(() => buildFromSpec(spec)).to.throw(ModelSpecError, /unknown model type 'GELU'.*/).and.satisfy((e: Error) => {
      return e.message.includes("'body.1'") && e.message.includes('$.children[1][1].children[1][1]');
    });
  });

  it('rejects bad arguments with the argument name', () => {
    expect(() => buildFromSpec({ type: 'Conv2d', in_channels: 3, out_channels: 4, kernel_size: 'big' })).to.throw(/Conv2d at <root>.*'kernel_size'/);
    expect(() => buildFromSpec({ type: 'Linear', in_features: 3 })).to.throw(/missing 'out_features'/);
    expect(() => buildFromSpec({ type: 'ResNet', block: 'Wide', layers: [1, 1, 1, 1] })).to.throw(/'block' must be/);
    expect(() => buildFromSpec([1, 2])).to.throw(/expected an object with a string 'type'/);
  });

  it('builds ResNet and VGG from their specs', () => {
    const r = buildFromSpec({ type: 'ResNet', block: 'Bottleneck', layers: [1, 1, 1, 1], planes: [2, 2, 4, 4], num_classes: 3 });
    expect(r).to.be.instanceOf(ResNet);
    expect(r.stateDict().get('fc.weight')!.shape).to.deep.equal([3, 16]);
    const v = buildFromSpec({ type: 'VGG', cfg: [4, 'M', 8, 'M'], batch_norm: true, num_classes: 2, hidden: 6, pool_size: 1 });
    expect(v).to.be.instanceOf(VGG);
    expect([...v.stateDict().keys()].slice(0, 3)).to.deep.equal(['features.0.weight', 'features.0.bias', 'features.1.weight']);
  });

  it('a strict load into a model of the wrong spec fails with every problem', () => {
    const st = readSafetensorsFile(join(DIR, 'mlp-gradient.safetensors'));
    const params = new Map<string, E.Tensor>();
    for (const [k, raw] of st.tensors) if (k.startsWith('param/')) params.set(k.slice(6), rawToTensor(raw, k));
    const wrong = buildFromSpec({
      type: 'Sequential',
      children: [
        ['0', { type: 'Linear', in_features: 12, out_features: 21 }],
        ['1', { type: 'ReLU' }],
        ['2', { type: 'Linear', in_features: 21, out_features: 16 }],
      ],
    }, { dtype: 'float64' });
    expect(() => wrong.loadStateDict(params)).to.throw(StateDictError).and.satisfy((e: StateDictError) => {
      return e.unexpectedKeys.join() === '4.weight,4.bias' && e.mismatches.length === 3 && e.message.includes('0.weight: expected [21, 12], got [20, 12]');
    });
  });
});

describe('models: torchvision builders', () => {
  it('resnet18 has torchvision\'s parameter count and keys', () => {
    const m = resnet18({ rng: new E.Rng(0) });
    const n = m.parameters().reduce((a, p) => a + p.size, 0);
    expect(n).to.equal(11689512);
    expect(m.stateDict().size).to.equal(122);
  });

  it("init: 'empty' gives zero weights, the same keys and shapes, and the constants (batch norm) as random init does", () => {
    // Small widths: the point is which tensors are drawn, not their size.
    const builders = {
      resnet: (init?: 'empty') => new ResNet({ block: 'BasicBlock', layers: [1, 1, 1, 1], planes: [8, 16, 32, 64], rng: new E.Rng(0), ...(init ? { init } : {}) }),
      vgg11: (init?: 'empty') => vgg11({ widthScale: 1 / 16, hidden: 32, numClasses: 10, rng: new E.Rng(0), ...(init ? { init } : {}) }),
    };
    for (const [name, make] of Object.entries(builders)) {
      const random = make().stateDict();
      const empty = make('empty').stateDict();
      expect([...empty.keys()], name).to.deep.equal([...random.keys()]);
      let nonzeroRandom = 0;
      for (const [k, t] of empty) {
        const r = random.get(k)!;
        expect([...t.shape], k).to.deep.equal([...r.shape]);
        expect(t.dtype, k).to.equal(r.dtype);
        const isConstant = r.data.every((v) => v === r.data[0]);
        if (isConstant) expect([...t.data], k).to.deep.equal([...r.data]);
        else {
          nonzeroRandom++;
          expect(t.data.every((v) => v === 0), `${k} is zeros`).to.equal(true);
        }
      }
      expect(nonzeroRandom, name).to.be.greaterThan(5);
    }
  });
});
