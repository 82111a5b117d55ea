/**
 * Training for the demo: plain cross-entropy, or cross-entropy plus an explanation penalty on the
 * decoy region (explanation-guided learning, "right for the right reasons" with LRP instead of the
 * input gradient).
 *
 * The penalty of one image is the share of its absolute relevance (true class, channel-summed)
 * that falls inside the decoy mask. Its gradient w.r.t. the weights goes through the LRP backward
 * itself: attribution/training.ts's `explanationGuidedStep` computes the relevance with
 * `attribute(..., {createGraph: true})`, which records the rule computations, and differentiates
 * the total loss through them (the double backward zennit cannot do, since its rules detach the
 * parameters). Absolute values, not only positive relevance: a model could otherwise hide its use
 * of the patch in negative relevance.
 */
import * as E from '../engine/index.js';
import type { Rng, Tensor } from '../engine/index.js';
import { explanationGuidedStep, type ExplanationLossOptions } from '../attribution/index.js';
import type { Composite } from '../composites/index.js';
import { Adam, type Module } from '../nn/index.js';
import { gatherBatch, type DataSet } from './data.js';

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  lr: number;
  /** Weight of the explanation penalty; 0 trains on the task loss only. */
  lambda: number;
  /** Required when lambda > 0: the composite whose relevance is penalised. */
  composite?: Composite;
  /** [H, W] 0/1 plane: where relevance is penalised. */
  mask?: Float32Array;
  /** Shuffles the mini-batches. */
  rng: Rng;
  /** After every step: running means of the epoch so far. */
  onStep?: (s: StepInfo) => void;
  /** After every epoch. */
  onEpoch?: (e: EpochInfo) => void;
}

export interface StepInfo {
  epoch: number;
  step: number;
  stepsPerEpoch: number;
  loss: number;
  penalty: number;
  accuracy: number;
}

export interface EpochInfo {
  epoch: number;
  loss: number;
  penalty: number;
  accuracy: number;
  seconds: number;
}

/**
 * The penalty of one image: the share of its absolute relevance (true class, summed over channels
 * as the heatmaps show it) inside the decoy mask; averaged over the batch.
 */
export const DECOY_PENALTY: ExplanationLossOptions = { penalty: 'absolute', normalize: 'share', sumChannels: true };

export function train(model: Module, ds: DataSet, o: TrainOptions): EpochInfo[] {
  if (o.lambda > 0 && (!o.composite || !o.mask)) throw new Error('train: a penalty needs a composite and a mask');
  const n = ds.y.length;
  const steps = Math.ceil(n / o.batchSize);
  const mask = o.mask ? new E.Tensor(o.mask, [1, 1, ds.size, ds.size]) : null;
  const opt = new Adam(model, { lr: o.lr });
  model.train();
  const history: EpochInfo[] = [];
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    const t0 = performance.now();
    const order = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = o.rng.int(i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    let lossSum = 0;
    let penSum = 0;
    let correct = 0;
    let seen = 0;
    for (let step = 0; step < steps; step++) {
      const b = gatherBatch(ds, order.slice(step * o.batchSize, (step + 1) * o.batchSize));
      let output: Tensor;
      let penalty = 0;
      const k = b.y.length;
      if (o.lambda > 0) {
        // attribution/training.ts: forward, relevance with a recorded backward, grad of the total
        // w.r.t. the parameters, optimizer step. The task loss hands us the logits for the accuracy.
        let logits: Tensor | null = null;
        const r = explanationGuidedStep({
          model,
          input: b.x,
          targets: b.y,
          composite: o.composite!,
          mask: mask!,
          lambda: o.lambda,
          optimizer: opt,
          loss: DECOY_PENALTY,
          taskLoss: (out, t) => {
            logits = out;
            return E.crossEntropy(out, t);
          },
        });
        output = logits!;
        penalty = r.explanationLoss;
        lossSum += r.taskLoss * k;
      } else {
        opt.zeroGrad();
        output = model.call(b.x);
        const ce = E.crossEntropy(output, b.y);
        lossSum += ce.item() * k;
        E.backward(ce);
        opt.step();
      }
      penSum += penalty * k;
      const pred = E.argmax(output.detach(), 1).data;
      for (let i = 0; i < k; i++) if (pred[i] === b.y[i]) correct++;
      seen += k;
      o.onStep?.({ epoch, step: step + 1, stepsPerEpoch: steps, loss: lossSum / seen, penalty: penSum / seen, accuracy: correct / seen });
    }
    const info: EpochInfo = { epoch, loss: lossSum / n, penalty: penSum / n, accuracy: correct / n, seconds: (performance.now() - t0) / 1000 };
    history.push(info);
    o.onEpoch?.(info);
  }
  model.eval();
  return history;
}
