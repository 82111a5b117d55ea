/** Explanation-guided training: the penalty, one step's gradient against finite differences, batch norm, hygiene. */
import { expect } from 'chai';
import * as E from '../../engine/index.js';
import type { Tensor } from '../../engine/index.js';
import { Adam, BatchNorm2d, Conv2d, Dropout, Flatten, Linear, Module, ReLU, SGD, Sequential } from '../../nn/index.js';
import { epsilonPlus, epsilonGammaBox } from '../../composites/index.js';
import { canonize, sequentialMergeBatchNorm } from '../../canonizers/index.js';
import { explanationGuidedLosses, explanationGuidedStep, explanationLoss, relevanceShare, type ExplanationGuidedOptions } from '../../attribution/index.js';

const F64 = { dtype: 'float64' as const };

describe('explanation loss ("right for the right reasons" penalty)', () => {
  // Two samples, one channel, 1x3 "images".
  const R = E.tensor([[[[1, -2, 3]]], [[[0.5, 0, -1]]]], F64);
  const mask = E.tensor([[[1, 1, 0]]], F64); // [1, 1, 3]: broadcasts over the batch

  it('penalties and normalisations on a hand example', () => {
    expect(explanationLoss(R, mask, { normalize: 'none' }).item()).to.equal(1 + 4 + 0.25);
    expect(explanationLoss(R, mask).item()).to.equal((1 + 4 + 0.25) / 2);
    expect(explanationLoss(R, mask, { penalty: 'positive', normalize: 'none' }).item()).to.equal(1 + 0.5);
    expect(explanationLoss(R, mask, { penalty: 'absolute', normalize: 'none' }).item()).to.equal(1 + 2 + 0.5);
    // share: sample 1: 5 / 14, sample 2: 0.25 / 1.25
    expect(explanationLoss(R, mask, { normalize: 'share' }).item()).to.be.closeTo((5 / 14 + 0.25 / 1.25) / 2, 1e-15);
    expect(relevanceShare(R, mask)).to.be.closeTo((3 / 6 + 0.5 / 1.5) / 2, 1e-15);
    // An all-zero map has share 0, not NaN.
    expect(explanationLoss(E.zerosLike(R), mask, { normalize: 'share' }).item()).to.equal(0);
  });

  it('sums channels first when asked; a float32 mask is cast; a mask may not enlarge the relevance', () => {
    const R2 = E.tensor([[[[1, 2]], [[3, -1]]]], F64); // [1, 2, 1, 2]
    expect(explanationLoss(R2, E.tensor([[1, 0]]), { normalize: 'none', sumChannels: true }).item()).to.equal(16);
    expect(explanationLoss(R2, E.tensor([[1, 0]]), { normalize: 'none' }).item()).to.equal(10);
    expect(() => explanationLoss(R2, E.ones([2, 2, 1, 2], F64))).to.throw(/broadcast/);
  });

  it('is differentiable in the relevance', () => {
    const r = R.detach().requireGrad();
    const [g] = E.grad(explanationLoss(r, mask), [r]);
    expect(g!.toArray()).to.deep.equal([1, -2, 0, 0.5, 0, -0].map((v) => v));
  });
});

/** Conv2d(1, 3, 3, pad 1) [-> BatchNorm2d] -> ReLU -> Flatten -> Linear(3*5*5, 2). */
function tinyCnn(rng: E.Rng, o: { bn?: boolean; dtype?: 'float32' | 'float64'; momentum?: number } = {}): Sequential {
  const d = { dtype: o.dtype ?? 'float64', rng };
  return new Sequential(
    new Conv2d(1, 3, 3, { ...d, padding: 1 }),
    ...(o.bn ? [new BatchNorm2d(3, { dtype: d.dtype, momentum: o.momentum })] : []),
    new ReLU(),
    new Flatten(),
    new Linear(75, 2, d),
  );
}

/** Central differences of `f` w.r.t. every element of every parameter, compared with `.grad`. */
function fdCompare(model: Module, f: () => number): { worst: number; where: string } {
  const h = 1e-6;
  let worst = 0;
  let where = '';
  for (const [name, p] of model.namedParameters()) {
    const d = p.data as Float64Array;
    for (let i = 0; i < d.length; i++) {
      const o = d[i]!;
      d[i] = o + h;
      const fp = f();
      d[i] = o - h;
      const fm = f();
      d[i] = o;
      const num = (fp - fm) / (2 * h);
      const a = p.grad ? p.grad.data[i]! : 0;
      const ratio = Math.abs(a - num) / (1e-5 * Math.abs(num) + 1e-8);
      if (ratio > worst) [worst, where] = [ratio, `${name}[${i}] analytic ${a} numeric ${num}`];
    }
  }
  return { worst, where };
}

describe('explanationGuidedStep', function () {
  this.timeout(60000);
  const mask = E.zeros([1, 1, 5, 5], F64);
  for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) mask.data[i * 5 + j] = 1;

  it('sets .grad to d(task + lambda * penalty)/d(original params) (finite differences, float64) and steps', () => {
    const rng = new E.Rng(1);
    const model = tinyCnn(rng);
    const x = E.randn([3, 1, 5, 5], { ...F64, rng });
    const o: Omit<ExplanationGuidedOptions, 'optimizer'> = { model, input: x, targets: [0, 1, 1], composite: epsilonPlus(), mask, lambda: 3 };
    const before = model.parameters().map((p) => p.toArray());
    const res = explanationGuidedStep({ ...o, optimizer: new SGD(model, { lr: 0 }) });
    expect(res.separateForwards).to.equal(false);
    expect(res.loss).to.be.closeTo(res.taskLoss + 3 * res.explanationLoss, 1e-12);
    expect(res.explanationLoss).to.be.above(0);
    // No graph survives: gradients and the returned relevance are plain tensors.
    for (const p of model.parameters()) expect(p.grad!.node === null && !p.grad!.requiresGrad).to.equal(true);
    expect(res.relevance.node).to.equal(null);
    const fd = fdCompare(model, () => explanationGuidedLosses(o).total.item());
    if (process.env.EGL_VERBOSE) console.log(`      worst ratio ${fd.worst.toExponential(2)} at ${fd.where}`);
    expect(fd.worst, fd.where).to.be.below(1);
    // The penalty term is not negligible in that gradient.
    const taskOnly = explanationGuidedStep({ ...o, lambda: 0, optimizer: new SGD(model, { lr: 0 }) });
    expect(taskOnly.loss).to.equal(taskOnly.taskLoss);
    expect(model.parameters().map((p) => p.toArray())).to.deep.equal(before);

    const sgd = new SGD(model, { lr: 0.1 });
    explanationGuidedStep({ ...o, optimizer: sgd });
    expect(model.parameters().map((p) => p.toArray())).to.not.deep.equal(before);
  });

  it('batch norm in evaluation mode: one forward through the merging canonizer; finite differences incl. bn weight and bias', () => {
    const rng = new E.Rng(2);
    const model = tinyCnn(rng, { bn: true });
    model.eval();
    const view = canonize(model, [sequentialMergeBatchNorm()]);
    const x = E.randn([2, 1, 5, 5], { ...F64, rng });
    const o: Omit<ExplanationGuidedOptions, 'optimizer'> = { model, view, input: x, targets: [1, 0], composite: epsilonGammaBox({ low: -4, high: 4 }), mask, lambda: 2 };
    const res = explanationGuidedStep({ ...o, optimizer: new SGD(model, { lr: 0 }) });
    expect(res.separateForwards).to.equal(false);
    expect(Math.abs(model.at(1).getParameter('weight')!.grad!.data[0]!)).to.be.above(0);
    const fd = fdCompare(model, () => explanationGuidedLosses(o).total.item());
    if (process.env.EGL_VERBOSE) console.log(`      worst ratio ${fd.worst.toExponential(2)} at ${fd.where}`);
    expect(fd.worst, fd.where).to.be.below(1);
  });

  it('batch norm in training mode: task on batch statistics, explanation in evaluation mode, modes restored (finite differences with momentum 0)', () => {
    const rng = new E.Rng(3);
    // momentum 0 keeps the running statistics fixed, so the loss is a function of the parameters only.
    const model = new Sequential(tinyCnn(rng, { bn: true, momentum: 0 }), new Dropout(0));
    model.train();
    const bn = (model.at(0) as Sequential).at(1) as BatchNorm2d;
    const view = canonize(model, [sequentialMergeBatchNorm()]);
    const x = E.randn([4, 1, 5, 5], { ...F64, rng });
    const o: Omit<ExplanationGuidedOptions, 'optimizer'> = { model, view, input: x, targets: [1, 0, 0, 1], composite: epsilonPlus(), mask, lambda: 2 };
    const res = explanationGuidedStep({ ...o, optimizer: new SGD(model, { lr: 0 }) });
    expect(res.separateForwards).to.equal(true);
    expect(model.modules().every((m) => m.training)).to.equal(true);
    expect(bn.numBatchesTracked).to.equal(1);
    // The task loss is the training-mode one (batch statistics).
    const trainLoss = E.noGrad(() => E.crossEntropy(model.call(x), o.targets).item());
    expect(res.taskLoss).to.be.closeTo(trainLoss, 1e-12);
    const fd = fdCompare(model, () => explanationGuidedLosses(o).total.item());
    if (process.env.EGL_VERBOSE) console.log(`      worst ratio ${fd.worst.toExponential(2)} at ${fd.where}`);
    expect(fd.worst, fd.where).to.be.below(1);
    // 'current' explains in training mode: the merging canonizer refuses.
    expect(() => explanationGuidedLosses({ ...o, explanationMode: 'current' })).to.throw(/evaluation mode/);
    expect(model.modules().every((m) => m.training)).to.equal(true);
  });

  it('training with the penalty moves relevance out of the mask (float32)', () => {
    const rng = new E.Rng(4);
    const model = tinyCnn(rng, { dtype: 'float32' });
    const x = E.randn([8, 1, 5, 5], { rng });
    const targets = [0, 1, 0, 1, 1, 0, 1, 0];
    // The masked corner carries the label: an easy shortcut.
    for (let n = 0; n < 8; n++) x.data[n * 25] = targets[n] ? 3 : -3;
    const m32 = mask.to('float32');
    const opt = new Adam(model, { lr: 0.02 });
    const shares: number[] = [];
    for (let step = 0; step < 60; step++) {
      const r = explanationGuidedStep({ model, optimizer: opt, input: x, targets, composite: epsilonPlus(), mask: m32, lambda: 50, loss: { normalize: 'share' } });
      shares.push(relevanceShare(r.relevance, m32));
      expect(Number.isFinite(r.loss)).to.equal(true);
    }
    if (process.env.EGL_VERBOSE) console.log(`      share in mask: ${shares[0]!.toFixed(3)} -> ${shares.at(-1)!.toFixed(3)}`);
    expect(shares.at(-1)!).to.be.below(0.5 * shares[0]!);
  });

  it('refuses a negative lambda and an optimizer without trainable parameters', () => {
    const rng = new E.Rng(5);
    const model = tinyCnn(rng);
    const x = E.randn([1, 1, 5, 5], { ...F64, rng });
    const base = { model, input: x, targets: [0], composite: epsilonPlus(), mask };
    expect(() => explanationGuidedStep({ ...base, lambda: -1, optimizer: new SGD(model, { lr: 0.1 }) })).to.throw(/lambda/);
    expect(() => explanationGuidedStep({ ...base, lambda: 1, optimizer: new SGD([] as Tensor[], { lr: 0.1 }) })).to.throw(/no parameter/);
  });
});
