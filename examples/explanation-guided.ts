/**
 * Explanation-guided training on a synthetic task where a decoy competes with the signal.
 *
 *   node --import tsx examples/explanation-guided.ts
 *
 * Images are 1x10x10. The label is the orientation of a short bar at a random place (0 =
 * horizontal, 1 = vertical). In the training set a 2x2 patch in the top-left corner is bright for
 * class 1 and dark for class 0: a perfect shortcut. In the test set the patch is random. A tiny CNN
 * is trained three times from the same initialisation: on cross-entropy alone, and with the
 * "right for the right reasons" penalty on its LRP relevance (epsilon_plus) inside the corner,
 * differentiated through the rules w.r.t. the parameters, with two seeds:
 *
 * - the one-hot of the target (explains the target logit only): the penalty drives the decoy's
 *   share of the relevance down, yet the model still follows the decoy: it uses the patch to push
 *   the OTHER class's logit, which an explanation of the target logit never shows;
 * - the contrastive seed (+1 at the target, -1/(K-1) elsewhere: explains the margin between the
 *   target and the other classes): the decoy is abandoned and the bars are learned.
 *
 * The printout shows the losses, the share of |relevance| on the decoy, and the accuracy on the
 * decoy-shuffled test set.
 */
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import { Adam, AvgPool2d, Conv2d, Flatten, Linear, ReLU, Sequential } from '../nn/index.js';
import { epsilonPlus } from '../composites/index.js';
import { contrastiveSeed, explanationGuidedStep, recordForward, oneHotSeed, relevanceShare, type Seed } from '../attribution/index.js';

const SIZE = 10;
const DECOY = 2;

/** A batch: bars of length 4 away from the corner, noise, and the decoy patch (tied to the label or random). */
function makeBatch(rng: E.Rng, n: number, decoyFollowsLabel: boolean): { x: Tensor; y: number[] } {
  const x = E.mul(E.randn([n, 1, SIZE, SIZE], { rng }), 0.2);
  const d = x.data;
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    const label = rng.int(2);
    y.push(label);
    const base = i * SIZE * SIZE;
    // Bar of length 4 inside rows/cols [3, 10): never touches the decoy corner.
    const r0 = 3 + rng.int(label ? 4 : 7);
    const c0 = 3 + rng.int(label ? 7 : 4);
    for (let k = 0; k < 4; k++) d[base + (label ? r0 + k : r0) * SIZE + (label ? c0 : c0 + k)]! += 1.5;
    const decoyClass = decoyFollowsLabel ? label : rng.int(2);
    for (let r = 0; r < DECOY; r++) for (let c = 0; c < DECOY; c++) d[base + r * SIZE + c] = decoyClass ? 1.5 : -1.5;
  }
  return { x, y };
}

function decoyMask(): Tensor {
  const m = E.zeros([1, 1, SIZE, SIZE]);
  for (let r = 0; r < DECOY; r++) for (let c = 0; c < DECOY; c++) m.data[r * SIZE + c] = 1;
  return m;
}

function makeModel(seed: number): Sequential {
  const rng = new E.Rng(seed);
  return new Sequential(new Conv2d(1, 4, 3, { padding: 1, rng }), new ReLU(), new AvgPool2d(2), new Flatten(), new Linear(4 * 5 * 5, 2, { rng }));
}

function accuracy(model: Sequential, x: Tensor, y: number[]): number {
  const pred = E.noGrad(() => E.argmax(model.call(x), 1));
  let ok = 0;
  for (let i = 0; i < y.length; i++) if (pred.data[i] === y[i]) ok++;
  return ok / y.length;
}

type SeedKind = 'one-hot' | 'contrastive';
const seedFor = (kind: SeedKind, y: number[]): Seed => (out) => (kind === 'one-hot' ? oneHotSeed(out, y) : contrastiveSeed(out, y));

function testShare(model: Sequential, x: Tensor, y: number[], mask: Tensor, kind: SeedKind): number {
  const rec = recordForward(model, x);
  const { relevance } = rec.attribute(seedFor(kind, y), { composite: epsilonPlus() });
  return relevanceShare(relevance, mask);
}

function train(label: string, lambda: number, kind: SeedKind, steps: number): void {
  const model = makeModel(7);
  const optimizer = new Adam(model, { lr: 0.01 });
  const composite = epsilonPlus();
  const mask = decoyMask();
  const data = new E.Rng(1);
  const test = makeBatch(new E.Rng(99), 400, false);
  console.log(`\n${label} (lambda = ${lambda}, ${kind} seed)`);
  console.log(' step  total    task     penalty  decoy share (train batch)');
  const t0 = performance.now();
  for (let step = 1; step <= steps; step++) {
    const { x, y } = makeBatch(data, 32, true);
    const r = explanationGuidedStep({ model, optimizer, input: x, targets: y, composite, mask, lambda, seed: seedFor(kind, y), loss: { normalize: 'share' } });
    if (step === 1 || step % 25 === 0) {
      const share = relevanceShare(r.relevance, mask);
      console.log(`${String(step).padStart(5)}  ${r.loss.toFixed(4)}  ${r.taskLoss.toFixed(4)}  ${r.explanationLoss.toFixed(4)}   ${(100 * share).toFixed(1)}%`);
    }
  }
  const ms = (performance.now() - t0) / steps;
  const trainSet = makeBatch(new E.Rng(98), 400, true);
  console.log(
    `accuracy: decoy = label ${(100 * accuracy(model, trainSet.x, trainSet.y)).toFixed(1)}%, decoy shuffled ${(100 * accuracy(model, test.x, test.y)).toFixed(1)}%;` +
      ` decoy share of |R| on the shuffled set ${(100 * testShare(model, test.x, test.y, mask, kind)).toFixed(1)}% (${ms.toFixed(1)} ms/step)`,
  );
}

const steps = Number(process.env.STEPS ?? 150);
train('cross-entropy only', 0, 'one-hot', steps);
train('cross-entropy + relevance penalty on the decoy', 5, 'one-hot', steps);
train('cross-entropy + relevance penalty on the decoy', 5, 'contrastive', steps);
