import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as E from '../../engine/index.js';
import {
  Module, Sequential, Linear, Conv2d, BatchNorm1d, BatchNorm2d, ReLU, MaxPool2d, Flatten, Dropout, Sum, Identity,
  Overrides, withOverrides, StateDictError, SGD, Adam, loadSafetensorsStateDict, serializeStateDict,
} from '../../nn/index.js';
import { ResNet, BasicBlock, vgg16, vgg16_bn } from '../../models/index.js';
import { readStateDictFile, writeStateDictFile } from '../../node/index.js';

const f64 = { dtype: 'float64' as const };

function keys(m: Module): string[] {
  return [...m.stateDict().keys()];
}

const bnKeys = (p: string): string[] => ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked'].map((k) => `${p}.${k}`);

describe('nn: names and state dicts as PyTorch', () => {
  it('ResNet (BasicBlock) state dict keys in torchvision order', () => {
    const m = new ResNet({ block: 'BasicBlock', layers: [2, 2, 2, 2], planes: [2, 2, 4, 4], numClasses: 3 });
    const k = keys(m);
    const block = (p: string, ds: boolean): string[] => [
      `${p}.conv1.weight`, ...bnKeys(`${p}.bn1`), `${p}.conv2.weight`, ...bnKeys(`${p}.bn2`),
      ...(ds ? [`${p}.downsample.0.weight`, ...bnKeys(`${p}.downsample.1`)] : []),
    ];
    expect(k).to.deep.equal([
      'conv1.weight', ...bnKeys('bn1'),
      ...block('layer1.0', false), ...block('layer1.1', false),
      ...block('layer2.0', true), ...block('layer2.1', false),
      ...block('layer3.0', true), ...block('layer3.1', false),
      ...block('layer4.0', true), ...block('layer4.1', false),
      'fc.weight', 'fc.bias',
    ]);
    expect(k.length).to.equal(122); // torchvision resnet18's state_dict has 122 entries
    expect(m.namedParameters().length).to.equal(62);
  });

  it('ResNet (Bottleneck) modules and keys in torchvision order', () => {
    const m = new ResNet({ block: 'Bottleneck', layers: [1, 1, 1, 1], planes: [2, 2, 2, 2], numClasses: 3 });
    expect(m.namedModules().slice(0, 16).map(([n]) => n)).to.deep.equal([
      '', 'conv1', 'bn1', 'relu', 'maxpool', 'layer1', 'layer1.0', 'layer1.0.conv1', 'layer1.0.bn1', 'layer1.0.conv2',
      'layer1.0.bn2', 'layer1.0.conv3', 'layer1.0.bn3', 'layer1.0.relu', 'layer1.0.downsample', 'layer1.0.downsample.0',
    ]);
    expect(keys(m).slice(6, 30)).to.deep.equal([
      'layer1.0.conv1.weight', ...bnKeys('layer1.0.bn1'), 'layer1.0.conv2.weight', ...bnKeys('layer1.0.bn2'),
      'layer1.0.conv3.weight', ...bnKeys('layer1.0.bn3'), 'layer1.0.downsample.0.weight', ...bnKeys('layer1.0.downsample.1'),
    ]);
    expect(m.stateDict().get('layer1.0.conv3.weight')!.shape).to.deep.equal([8, 2, 1, 1]);
    expect(m.stateDict().get('fc.weight')!.shape).to.deep.equal([3, 8]);
  });

  it('VGG16 and VGG16-BN keys as torchvision', () => {
    const small = { widthScale: 1 / 32, hidden: 4, numClasses: 3 };
    const convs = [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28];
    const cls = ['classifier.0', 'classifier.3', 'classifier.6'].flatMap((p) => [`${p}.weight`, `${p}.bias`]);
    expect(keys(vgg16(small))).to.deep.equal([...convs.flatMap((i) => [`features.${i}.weight`, `features.${i}.bias`]), ...cls]);
    const bnConvs = [0, 3, 7, 10, 14, 17, 20, 24, 27, 30, 34, 37, 40];
    const m = vgg16_bn(small);
    expect(keys(m)).to.deep.equal([
      ...bnConvs.flatMap((i) => [`features.${i}.weight`, `features.${i}.bias`, ...bnKeys(`features.${i + 1}`)]),
      ...cls,
    ]);
    expect(m.features.length).to.equal(44);
    expect(m.stateDict().get('classifier.0.weight')!.shape).to.deep.equal([4, 16 * 49]);
  });

  it('fullName follows the parent chain; Module.attach names without registering', () => {
    const m = new ResNet({ block: 'BasicBlock', layers: [1, 1, 1, 1], planes: [2, 2, 2, 2], numClasses: 2 });
    const block = m.layer2.at(0) as BasicBlock;
    expect(m.fullName).to.equal('');
    expect(block.downsample!.fullName).to.equal('layer2.0.downsample');
    expect((block.downsample as Sequential).at(1).fullName).to.equal('layer2.0.downsample.1');
    const s = Module.attach(new Sum(), block, 'canonizer_sum');
    expect(s.fullName).to.equal('layer2.0.canonizer_sum');
    expect(block.namedModules().map(([n]) => n)).to.not.include('canonizer_sum');
  });
});

describe('nn: loadStateDict', () => {
  const net = (): Sequential => new Sequential(new Linear(3, 4, f64), new ReLU(), new BatchNorm1d(4, f64), new Linear(4, 2, { ...f64, bias: false }));

  it('lists every missing and unexpected key and every shape mismatch, and changes nothing', () => {
    const m = net();
    const before = m.stateDict();
    const d = new Map(before);
    d.delete('0.bias');
    d.delete('2.running_var');
    d.set('3.bias', E.zeros([2], f64));
    d.set('extra.weight', E.zeros([1], f64));
    d.set('0.weight', E.zeros([3, 4], f64));
    d.set('2.weight', E.zeros([5], f64));
    let err: StateDictError | null = null;
    try {
      m.loadStateDict(d);
    } catch (e) {
      err = e as StateDictError;
    }
    expect(err).to.be.instanceOf(StateDictError);
    expect(err!.missingKeys).to.deep.equal(['0.bias', '2.running_var']);
    expect(err!.unexpectedKeys).to.deep.equal(['3.bias', 'extra.weight']);
    expect(err!.message).to.include('0.bias').and.include('2.running_var').and.include('3.bias').and.include('extra.weight');
    expect(err!.message).to.include('0.weight: expected [4, 3], got [3, 4]');
    expect(err!.message).to.include('2.weight: expected [4], got [5]');
    for (const [k, t] of m.stateDict()) expect(t, k).to.equal(before.get(k));
  });

  it('non-strict ignores missing/unexpected keys but not shape mismatches', () => {
    const m = net();
    const r = m.loadStateDict({ '0.bias': E.ones([4], f64), 'nope': E.ones([1], f64) }, { strict: false });
    expect(r.unexpectedKeys).to.deep.equal(['nope']);
    expect(r.missingKeys).to.include('0.weight');
    expect(m.stateDict().get('0.bias')!.toArray()).to.deep.equal([1, 1, 1, 1]);
    expect(() => m.loadStateDict({ '0.bias': E.ones([3], f64) }, { strict: false })).to.throw(StateDictError, /0\.bias: expected \[4\], got \[3\]/);
  });

  it('replaces parameters by new leaves with requiresGrad, copies and converts dtype', () => {
    const m = new Sequential(new Linear(2, 2), new BatchNorm1d(2)); // float32
    const old = (m.at(0) as Linear).weight;
    const src = E.tensor([[1, 2], [3, 4.000000001]], f64);
    const d = new Map(m.stateDict());
    d.set('0.weight', src);
    d.set('1.num_batches_tracked', E.tensor([7], f64).reshape([]));
    m.loadStateDict(d);
    const w = (m.at(0) as Linear).weight;
    expect(w).to.not.equal(old);
    expect(w.dtype).to.equal('float32');
    expect(w.isLeaf && w.requiresGrad).to.equal(true);
    expect(w.data).to.not.equal(src.data);
    expect(w.toArray()).to.deep.equal([1, 2, 3, 4]);
    expect((m.at(1) as BatchNorm1d).numBatchesTracked).to.equal(7);
    expect(m.stateDict().get('1.num_batches_tracked')!.dtype).to.equal('int32');
  });

  it('a missing num_batches_tracked is not an error (as PyTorch for unversioned dicts)', () => {
    const m = new BatchNorm2d(3);
    const before = m.numBatchesTracked;
    m.loadStateDict({ weight: E.tensor([1, 2, 3]), bias: E.zeros([3]), running_mean: E.tensor([4, 5, 6]), running_var: E.ones([3]) });
    expect(m.stateDict().get('weight')!.toArray()).to.deep.equal([1, 2, 3]);
    expect(m.stateDict().get('running_mean')!.toArray()).to.deep.equal([4, 5, 6]);
    expect(m.numBatchesTracked).to.equal(before);
  });

  it('to(float64) converts float parameters and buffers, keeps ints', () => {
    const m = new Sequential(new Conv2d(1, 2, 3), new BatchNorm2d(2)).to('float64');
    for (const [k, t] of m.stateDict()) expect(t.dtype, k).to.equal(k.endsWith('num_batches_tracked') ? 'int32' : 'float64');
    for (const p of m.parameters()) expect(p.requiresGrad && p.isLeaf).to.equal(true);
    expect(m.dtype).to.equal('float64');
  });

  it('saves and loads safetensors (num_batches_tracked as I64)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lrp-nn-'));
    try {
      const m = new Sequential(new Conv2d(1, 2, 3, { rng: new E.Rng(3) }), new BatchNorm2d(2));
      m.call(E.randn([2, 1, 5, 5], { rng: new E.Rng(4) }));
      const path = join(dir, 'm.safetensors');
      writeStateDictFile(path, m, { note: 'x' });
      const d = readStateDictFile(path);
      expect(loadSafetensorsStateDict(serializeStateDict(m, { note: 'x' })).get('1.num_batches_tracked')!.item()).to.equal(1);
      expect([...d.keys()].sort()).to.deep.equal(keys(m).sort());
      expect(d.get('1.num_batches_tracked')!.item()).to.equal(1);
      const m2 = new Sequential(new Conv2d(1, 2, 3), new BatchNorm2d(2));
      m2.loadStateDict(d);
      for (const [k, t] of m.stateDict()) expect(m2.stateDict().get(k)!.toArray(), k).to.deep.equal(t.toArray());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('nn: modes and layers', () => {
  it('train/eval propagate to every descendant', () => {
    const m = new ResNet({ block: 'BasicBlock', layers: [1, 1, 1, 1], planes: [2, 2, 2, 2], numClasses: 2 });
    expect(m.modules().every((x) => x.training)).to.equal(true);
    m.eval();
    expect(m.modules().every((x) => !x.training)).to.equal(true);
    m.layer1.train();
    expect(m.training).to.equal(false);
    expect(m.layer1.modules().every((x) => x.training)).to.equal(true);
  });

  it('BatchNorm training: batch statistics, running stats with momentum 0.1 and unbiased variance', () => {
    const bn = new BatchNorm1d(1, f64);
    const x = E.tensor([[1], [2], [3], [6]], f64);
    const y = bn.call(x);
    // mean 3, biased var 14/4 = 3.5, unbiased 14/3
    const s = Math.sqrt(3.5 + 1e-5);
    expect(y.toArray()).to.deep.equal([-2 / s, -1 / s, 0, 3 / s]);
    expect(bn.runningMean.item()).to.be.closeTo(0.3, 1e-15);
    expect(bn.runningVar.item()).to.be.closeTo(0.9 + 0.1 * (14 / 3), 1e-15);
    expect(bn.numBatchesTracked).to.equal(1);
    bn.call(E.tensor([[0], [4]], f64)); // mean 2, unbiased var 8
    expect(bn.runningMean.item()).to.be.closeTo(0.9 * 0.3 + 0.2, 1e-15);
    expect(bn.runningVar.item()).to.be.closeTo(0.9 * (0.9 + 0.1 * (14 / 3)) + 0.8, 1e-14);
    expect(bn.numBatchesTracked).to.equal(2);
    bn.eval();
    const ye = bn.call(E.tensor([[1]], f64));
    expect(ye.item()).to.be.closeTo((1 - bn.runningMean.item()) / Math.sqrt(bn.runningVar.item() + 1e-5), 1e-15);
    expect(bn.numBatchesTracked).to.equal(2);
    // momentum null: cumulative average
    const cum = new BatchNorm1d(1, { ...f64, momentum: null });
    cum.call(x);
    expect(cum.runningMean.item()).to.be.closeTo(3, 1e-15);
    cum.call(E.tensor([[0], [4]], f64));
    expect(cum.runningMean.item()).to.be.closeTo(2.5, 1e-15);
  });

  it('requireGrad(false) freezes every parameter', () => {
    const m = new Sequential(new Linear(2, 2), new BatchNorm1d(2)).requireGrad(false);
    expect(m.parameters().some((p) => p.requiresGrad)).to.equal(false);
    expect(m.requireGrad().parameters().every((p) => p.requiresGrad)).to.equal(true);
  });

  it('BatchNorm2d refuses one value per channel in training, as PyTorch', () => {
    expect(() => new BatchNorm2d(2).call(E.zeros([1, 2, 1, 1]))).to.throw(/more than 1 value per channel/);
  });

  it('Dropout: identity in eval, seeded inverted mask in training', () => {
    const x = E.ones([1000], f64);
    const d = new Dropout(0.25, { rng: new E.Rng(5) });
    const y = d.call(x).toArray();
    expect(new Set(y)).to.deep.equal(new Set([0, 1 / 0.75]));
    const zeros = y.filter((v) => v === 0).length;
    expect(zeros).to.be.within(200, 300);
    expect(new Dropout(0.25, { rng: new E.Rng(5) }).call(x).toArray()).to.deep.equal(y);
    d.eval();
    expect(d.call(x)).to.equal(x);
  });

  it('leaf layers record one layer with kind, type, dotted name, params, info and a pure fn', () => {
    const m = Sequential.named([['features', new Sequential(new Conv2d(2, 3, 3, { ...f64, padding: 1, rng: new E.Rng(1) }), new ReLU(), new MaxPool2d(2))], ['flat', new Flatten()], ['fc', new Linear(12, 2, f64)], ['id', new Identity()]]);
    const x = E.randn([1, 2, 4, 4], { ...f64, rng: new E.Rng(2) }).requireGrad();
    const { recording, result } = E.record(() => m.call(x));
    expect(recording.layers.map((l) => [l.kind, l.type, l.name])).to.deep.equal([
      ['Convolution', 'Conv2d', 'features.0'], ['Activation', 'ReLU', 'features.1'], ['MaxPool', 'MaxPool2d', 'features.2'],
      ['Flatten', 'Flatten', 'flat'], ['Dense', 'Linear', 'fc'],
    ]);
    const conv = recording.layers[0]!;
    const c = (m.getModule('features') as Sequential).at(0) as Conv2d;
    expect(conv.module).to.equal(c);
    expect(conv.params.weight).to.equal(c.weight);
    expect(conv.params.bias).to.equal(c.bias);
    expect(conv.info!.padding).to.deep.equal([1, 1]);
    const again = conv.fn(conv.inputs, conv.params);
    expect(again.toArray()).to.deep.equal(conv.output.toArray());
    const doubled = conv.fn(conv.inputs, { weight: c.weight.mul(2), bias: null });
    const plain = E.conv2d(x, c.weight, null, { padding: 1 });
    expect(doubled.toArray()).to.deep.equal(plain.mul(2).toArray());
    expect(result).to.equal(recording.layers[4]!.output);
    const fc = m.getModule('fc') as Linear;
    const noBias = new Linear(2, 2, { bias: false });
    expect(Object.keys(noBias.layerParams())).to.deep.equal(['weight', 'bias']);
    expect(noBias.layerParams().bias).to.equal(null);
    expect(fc.layerParams().weight).to.equal(fc.weight);
  });

  it('a residual override swaps in Sum over stack([identity, out], -1) without mutating the model', () => {
    const m = new ResNet({ block: 'BasicBlock', layers: [1, 1, 1, 1], planes: [2, 3, 3, 4], numClasses: 3, ...f64, rng: new E.Rng(7) }).eval();
    const before = keys(m);
    const x = E.randn([1, 3, 16, 16], { ...f64, rng: new E.Rng(8) });
    const y0 = m.call(x);
    const o = new Overrides();
    for (const b of m.blocks()) {
      const s = Module.attach(new Sum(), b, 'canonizer_sum');
      o.residual.set(b, (identity, out) => s.call(E.stack([identity, out], -1)));
    }
    const xr = x.detach().requireGrad();
    const { recording, result } = E.record(() => withOverrides(o, () => m.call(xr)));
    const sums = recording.layers.filter((l) => l.kind === 'Sum').map((l) => l.name);
    expect(sums).to.deep.equal(['layer1.0.canonizer_sum', 'layer2.0.canonizer_sum', 'layer3.0.canonizer_sum', 'layer4.0.canonizer_sum']);
    expect(recording.layers.some((l) => l.kind === 'op:add')).to.equal(false);
    result.toArray().forEach((v, i) => expect(v).to.be.closeTo(y0.data[i]!, 1e-12));
    expect(keys(m)).to.deep.equal(before);
    // outside the scope the plain add is back
    const { recording: plain } = E.record(() => m.call(xr));
    expect(plain.layers.filter((l) => l.kind === 'op:add').length).to.equal(4);
  });

  it('a forward override replaces one module for the duration of a call', () => {
    const relu = new ReLU();
    const m = new Sequential(new Identity(), relu);
    const o = new Overrides();
    o.forward.set(relu, (inputs) => inputs[0]!.mul(-1));
    const x = E.tensor([1, -2], f64);
    expect(withOverrides(o, () => m.call(x)).toArray()).to.deep.equal([-1, 2]);
    expect(m.call(x).toArray()).to.deep.equal([1, 0]);
  });
});

describe('nn: optimizers', () => {
  // f(w) = 0.5 * sum(a * w^2), gradient a * w, from w0 = [1, -2], a = [1, 3].
  const a = E.tensor([1, 3], f64);
  const run = (make: (w: E.Tensor) => { step(): void; zeroGrad(): void }, steps: number): number[][] => {
    const w = E.tensor([1, -2], f64).requireGrad();
    const opt = make(w);
    const out: number[][] = [];
    for (let i = 0; i < steps; i++) {
      opt.zeroGrad();
      w.mul(w).mul(a).sum().mul(0.5).backward();
      opt.step();
      out.push(w.toArray());
    }
    return out;
  };
  const close = (got: number[][], want: number[][], tol = 1e-12): void => {
    // Shapes first: rows or entries missing from `got` would otherwise go unchecked.
    expect(got.map((row) => row.length)).to.deep.equal(want.map((row) => row.length));
    got.forEach((row, i) => row.forEach((v, j) => expect(v, `step ${i + 1}[${j}]`).to.be.closeTo(want[i]![j]!, tol)));
  };

  it('SGD with momentum follows PyTorch (buffer = gradient on the first step)', () => {
    // g1 = [1, -6], b1 = g1, w1 = [0.9, -1.4]; g2 = [0.9, -4.2], b2 = [1.8, -9.6], w2 = [0.72, -0.44];
    // g3 = [0.72, -1.32], b3 = [2.34, -9.96], w3 = [0.486, 0.556]
    close(run((w) => new SGD([w], { lr: 0.1, momentum: 0.9 }), 3), [[0.9, -1.4], [0.72, -0.44], [0.486, 0.556]]);
  });

  it('SGD nesterov and weight decay', () => {
    // nesterov: d1 = g1 + 0.9 b1 = [1.9, -11.4], w1 = [0.81, -0.86]
    close(run((w) => new SGD([w], { lr: 0.1, momentum: 0.9, nesterov: true }), 1), [[0.81, -0.86]]);
    // weight decay 0.5: d1 = [1.5, -7], w1 = [0.85, -1.3]
    close(run((w) => new SGD([w], { lr: 0.1, weightDecay: 0.5 }), 1), [[0.85, -1.3]]);
  });

  it('Adam follows PyTorch (bias-corrected, eps outside the square root)', () => {
    // step 1: m̂ = g, v̂ = g², w1 = w0 - 0.1 * g / (|g| + 1e-8)
    close(run((w) => new Adam([w], { lr: 0.1 }), 3), [
      [0.9000000009999999, -1.9000000001666666],
      [0.8004122297123379, -1.800166485947237],
      [0.7015862745044147, -1.7006233917912488],
    ]);
    // L2 weight decay 0.1 added to the gradient
    close(run((w) => new Adam([w], { lr: 0.1, weightDecay: 0.1 }), 3), [
      [0.9000000009090908, -1.9000000001612902],
      [0.8004122295267843, -1.8001664859363684],
      [0.7015862742210721, -1.700623391774783],
    ]);
  });

  it('an optimizer built on a module follows parameters replaced by loadStateDict', () => {
    const m = new Linear(2, 1, f64);
    const opt = new SGD(m, { lr: 1 });
    m.loadStateDict({ weight: E.tensor([[1, 1]], f64), bias: E.tensor([0], f64) });
    m.call(E.tensor([[2, 3]], f64)).sum().backward();
    opt.step();
    expect(m.weight.toArray()).to.deep.equal([-1, -2]);
    expect(m.bias!.toArray()).to.deep.equal([-1]);
  });

  it('step() refuses to run inside a recording', () => {
    const w = E.tensor([1], f64).requireGrad();
    const opt = new SGD([w], { lr: 1 });
    expect(() => E.record(() => opt.step())).to.throw(/recorded/);
  });
});

describe('nn: training', () => {
  /** 2 classes of 8x8 images: a bright 3x3 square in the left or the right half, plus noise. */
  function batch(rng: E.Rng, n: number): { x: E.Tensor; y: number[] } {
    const x = E.zeros([n, 1, 8, 8]);
    const y: number[] = [];
    for (let i = 0; i < n; i++) {
      const cls = rng.int(2);
      y.push(cls);
      const r0 = rng.int(6);
      const c0 = cls === 0 ? rng.int(2) : 4 + rng.int(2);
      for (let p = 0; p < 64; p++) x.data[i * 64 + p] = 0.1 * rng.normal();
      for (let r = r0; r < r0 + 3; r++) for (let c = c0; c < c0 + 3; c++) x.data[i * 64 + r * 8 + c] = 1;
    }
    return { x, y };
  }

  it('a small CNN trained with SGD on a synthetic task halves its loss (float32)', () => {
    const rng = new E.Rng(11);
    const m = new Sequential(new Conv2d(1, 4, 3, { padding: 1, rng }), new BatchNorm2d(4), new ReLU(), new MaxPool2d(2), new Flatten(), new Linear(64, 2, { rng }));
    const opt = new SGD(m, { lr: 0.05, momentum: 0.9 });
    const test = batch(new E.Rng(99), 64);
    const evalLoss = (): number => {
      m.eval();
      const l = E.noGrad(() => E.crossEntropy(m.call(test.x), test.y)).item();
      m.train();
      return l;
    };
    const initial = evalLoss();
    for (let step = 0; step < 200; step++) {
      const { x, y } = batch(rng, 16);
      opt.zeroGrad();
      E.crossEntropy(m.call(x), y).backward();
      opt.step();
    }
    const final = evalLoss();
    expect(final).to.be.below(0.5 * initial);
    expect(m.parameters().every((p) => p.dtype === 'float32')).to.equal(true);
  });

  it('1000 training steps of a tiny model do not grow the heap', () => {
    const gc = exposeGc();
    const rng = new E.Rng(3);
    const m = new Sequential(new Linear(8, 16, { rng }), new ReLU(), new BatchNorm1d(16), new Dropout(0.1, { rng }), new Linear(16, 2, { rng }));
    const opt = new Adam(m, { lr: 1e-3 });
    const x = E.randn([8, 8], { rng });
    const y = [0, 1, 0, 1, 1, 0, 0, 1];
    const heap = (): number => {
      gc();
      gc();
      return process.memoryUsage().heapUsed;
    };
    let at100 = 0;
    for (let step = 1; step <= 1000; step++) {
      opt.zeroGrad();
      E.crossEntropy(m.call(x), y).backward();
      opt.step();
      if (step === 100) at100 = heap();
    }
    const at1000 = heap();
    expect(at1000, `heap ${at100} after step 100, ${at1000} after step 1000`).to.be.below(at100 * 1.1);
  });
});

/** global.gc when node runs with --expose-gc; otherwise enabled at run time through V8's flags. */
function exposeGc(): () => void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) return g;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}
