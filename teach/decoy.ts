/**
 * The EGL panel's model and data: the demo's decoy set (a shape, plus a corner patch whose colour
 * gives the class away) at 24x24, and explanation-guided steps that push relevance off the patch.
 */
import { attribution, composites, engine, nn } from '../index.js';
import { decoyMask, makeDataSet, type DataOptions } from '../demo/data.js';
import { demoModel } from '../demo/model.js';
import { DECOY_PENALTY } from '../demo/train.js';

export const DECOY_DATA: DataOptions = { size: 24 };
const S = 24;

export function decoyModel(rng?: engine.Rng): nn.Module {
  return demoModel(DECOY_DATA.size!, rng ?? new engine.Rng(0));
}

export const decoyComposite = (): composites.Composite => composites.epsilonPlusFlat({ epsilon: 1e-6 });

export function maskTensor(): engine.Tensor {
  return new engine.Tensor(decoyMask(DECOY_DATA), [1, 1, DECOY_DATA.size!, DECOY_DATA.size!]);
}

/** Share of the absolute relevance (true class, channel-summed) that falls on the patch, averaged. */
export function decoyShare(model: nn.Module, x: engine.Tensor, y: Int32Array): number {
  const rec = attribution.recordForward(model, x);
  const { relevance } = rec.attribute(attribution.oneHotSeed(rec.output, y), { composite: decoyComposite() });
  return attribution.relevanceShare(relevance, maskTensor(), { sumChannels: true });
}

export interface EglState {
  model: nn.Module;
  optimizer: nn.Optimizer;
  batch: { x: engine.Tensor; y: Int32Array };
  lambda: number;
  /** Loss before each step (task + lambda * penalty), task loss, penalty. */
  history: { loss: number; task: number; penalty: number }[];
}

export function startEgl(weights: Uint8Array, lambda = 10, lr = 2e-3): EglState {
  const model = decoyModel();
  model.loadStateDict(nn.loadSafetensorsStateDict(weights, { source: 'decoy-cnn.safetensors' }));
  model.eval();
  const batch = makeDataSet(24, new engine.Rng(5), DECOY_DATA);
  return { model, optimizer: new nn.Adam(model, { lr }), batch: { x: batch.x, y: batch.y }, lambda, history: [] };
}

/** One explanation-guided step on the panel's fixed batch; returns the relevance of the first image (channel-summed). */
export function eglStep(s: EglState): Float32Array {
  const r = attribution.explanationGuidedStep({
    model: s.model,
    input: s.batch.x,
    targets: s.batch.y,
    composite: decoyComposite(),
    mask: maskTensor(),
    lambda: s.lambda,
    optimizer: s.optimizer,
    loss: DECOY_PENALTY,
  });
  s.history.push({ loss: r.loss, task: r.taskLoss, penalty: r.explanationLoss });
  return firstHeatmap(r.relevance);
}

/** The current model's relevance for the batch's first image, summed over colour channels. */
export function eglHeatmap(s: EglState): Float32Array {
  const one = new engine.Tensor((s.batch.x.data as Float32Array).slice(0, 3 * S * S), [1, 3, S, S]);
  const rec = attribution.recordForward(s.model, one);
  return firstHeatmap(rec.attribute(attribution.oneHotSeed(rec.output, [s.batch.y[0]!]), { composite: decoyComposite() }).relevance);
}

function firstHeatmap(rel: engine.Tensor): Float32Array {
  const out = new Float32Array(S * S);
  const d = rel.data as Float32Array;
  for (let c = 0; c < 3; c++) for (let i = 0; i < S * S; i++) out[i]! += d[c * S * S + i]!;
  return out;
}

/** The first image of the batch as RGB bytes (for drawing). */
export function eglImage(s: EglState): Uint8ClampedArray {
  const d = s.batch.x.data as Float32Array;
  const out = new Uint8ClampedArray(S * S * 4);
  for (let i = 0; i < S * S; i++) {
    for (let c = 0; c < 3; c++) out[i * 4 + c] = Math.round(Math.min(1, Math.max(0, d[c * S * S + i]!)) * 255);
    out[i * 4 + 3] = 255;
  }
  return out;
}

export function parameterSnapshot(model: nn.Module): Float32Array {
  const parts = model.parameters().map((p) => p.data as Float32Array);
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
