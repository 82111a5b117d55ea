/**
 * Explanation-guided training ("right for the right reasons", Ross et al. 2017, with LRP relevance
 * instead of input gradients): task loss + lambda * a penalty on the relevance that falls inside a
 * mask of regions the model must not use, differentiated w.r.t. the ORIGINAL parameters through
 * every rule and canonizer (the relevance is computed with `createGraph`).
 *
 * Memory: each step records one forward, a recorded backward (the relevance) and differentiates
 * the loss; nothing of it is kept once the step returns (the RecordedForward is local, `.grad`s are
 * plain tensors without a graph, the returned relevance is detached). Keeping a returned tensor of
 * `explanationGuidedLosses` keeps that step's whole graph alive until it is dropped.
 *
 * Batch norm and dropout: canonizers merge batch norm with its RUNNING statistics and therefore
 * need evaluation mode, and LRP explains the model as it is deployed. When the model has a
 * BatchNorm or Dropout module in training mode, a step (mode 'auto') runs TWO forwards: the task
 * loss on the model in its current (training) mode (batch statistics, running statistics updated,
 * dropout active) and the explanation on the view in evaluation mode (running statistics as
 * updated by this step's task forward, no dropout), then restores every module's mode. Both
 * losses are differentiated w.r.t. the same parameters, so the gradient is exact for the loss
 * `task(train-mode forward) + lambda * penalty(eval-mode explanation)`. Without such modules (or
 * with the model in evaluation mode) one shared forward serves both terms.
 */
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import { Layer, type Module, type Optimizer } from '../nn/index.js';
import type { Composite } from '../composites/index.js';
import { ExplainError, oneHotSeed, recordForward, runForward, type Forward, type Seed } from './explain.js';

/** What is penalised inside the mask: R^2 (default), max(R, 0) (evidence for the class), or |R|. */
export type PenaltyKind = 'squared' | 'positive' | 'absolute';

export interface ExplanationLossOptions {
  penalty?: PenaltyKind;
  /**
   * 'batch' (default): the masked penalty summed per sample, averaged over the batch.
   * 'share': per sample, masked penalty / total penalty over the whole input (in [0, 1] for a 0/1
   * mask; scale-free), averaged over the batch. 'none': the plain sum.
   */
  normalize?: 'batch' | 'share' | 'none';
  /** Sum the relevance over the channel dim (dim 1) first, as heatmaps do (default false: per element). */
  sumChannels?: boolean;
}

function penaltyOf(r: Tensor, kind: PenaltyKind): Tensor {
  switch (kind) {
    case 'squared':
      return E.mul(r, r);
    case 'positive':
      return E.relu(r);
    case 'absolute':
      return E.abs(r);
  }
  throw new ExplainError(`unknown explanation penalty '${String(kind)}' (squared, positive, absolute)`);
}

function perSample(t: Tensor): Tensor {
  return E.sum(E.reshape(t, [t.shape[0]!, -1]), [1]);
}

/**
 * The "right for the right reasons" penalty on a relevance map: the penalty of the relevance
 * inside `mask` (1 = forbidden region; soft masks work too), normalised as `opts.normalize` says.
 * `mask` broadcasts against the relevance (e.g. [N, 1, H, W] or [H, W] for [N, C, H, W]) and is a
 * constant. Differentiable in the relevance (and through it in whatever the relevance was recorded from).
 */
export function explanationLoss(relevance: Tensor, mask: Tensor, opts: ExplanationLossOptions = {}): Tensor {
  if (relevance.ndim < 1) throw new ExplainError('explanationLoss: the relevance needs a batch dim');
  const m = mask.dtype === relevance.dtype ? mask.detach() : E.cast(mask.detach(), relevance.dtype as 'float32' | 'float64');
  const r = opts.sumChannels && relevance.ndim > 2 ? E.sum(relevance, [1], true) : relevance;
  const p = penaltyOf(r, opts.penalty ?? 'squared');
  const masked = E.mul(p, m);
  if (masked.ndim !== r.ndim || masked.shape.some((d, i) => d !== r.shape[i])) {
    throw new ExplainError(`explanationLoss: a mask of shape [${mask.shape.join(', ')}] must broadcast to the relevance's [${r.shape.join(', ')}] without enlarging it`);
  }
  const n = r.shape[0]!;
  switch (opts.normalize ?? 'batch') {
    case 'none':
      return E.sum(masked);
    case 'batch':
      return E.mul(E.sum(masked), 1 / n);
    case 'share': {
      // A tiny floor keeps an all-zero relevance map at share 0 instead of 0/0.
      const total = E.add(perSample(p), 1e-30);
      return E.mul(E.sum(E.div(perSample(masked), total)), 1 / n);
    }
  }
  throw new ExplainError(`explanationLoss: unknown normalize '${String(opts.normalize)}' (batch, share, none)`);
}

/** Share of |relevance| inside the mask, per batch average (a number, for monitoring; no graph). */
export function relevanceShare(relevance: Tensor, mask: Tensor, opts: { sumChannels?: boolean } = {}): number {
  return E.noGrad(() => explanationLoss(relevance.detach(), mask, { penalty: 'absolute', normalize: 'share', sumChannels: opts.sumChannels }).item());
}

export type TaskLoss = (logits: Tensor, targets: ArrayLike<number>) => Tensor;

export interface ExplanationGuidedOptions {
  /** The model whose parameters are trained (its modes are switched and restored when needed). */
  model: Module;
  /** What to explain and run: e.g. `canonize(model, [resnetCanonizer()])`. Default: the model. */
  view?: Forward;
  input: Tensor;
  /** Class index per batch item: the cross-entropy targets and the one-hot relevance seed. */
  targets: ArrayLike<number>;
  /** null: plain input gradients (the original RRR). */
  composite: Composite | null;
  /** Forbidden regions, broadcast against the relevance (see `explanationLoss`). */
  mask: Tensor;
  /** Weight of the explanation penalty. 0 trains on the task loss only (the penalty is still reported). */
  lambda: number;
  /** Default: cross-entropy of the logits. */
  taskLoss?: TaskLoss;
  /**
   * Default: the one-hot of `targets`, a constant. See `contrastiveSeed` for a seed a penalty cannot
   * be dodged around as easily. A function of the output stays differentiable.
   */
  seed?: Seed;
  loss?: ExplanationLossOptions;
  /**
   * 'auto' (default): two forwards (task in the current mode, explanation in evaluation mode) when
   * a BatchNorm or Dropout module is in training mode, else one. 'current': one forward in the
   * current mode (a batch-norm-merging canonizer then refuses a model in training mode).
   */
  explanationMode?: 'auto' | 'current';
}

export interface ExplanationGuidedLosses {
  total: Tensor;
  task: Tensor;
  explanation: Tensor;
  /** The relevance the penalty was computed on (recorded: keep it only as long as the graph is needed). */
  relevance: Tensor;
  /** Whether task loss and explanation came from two forwards (see the file comment). */
  separateForwards: boolean;
}

const isModeDependent = (m: Module): boolean =>
  m.training && m instanceof Layer && (m.kind === 'BatchNorm' || (m.kind === 'Dropout' && (m as Layer & { p: number }).p > 0));

/**
 * +1 at the target and -1/(K-1) at every other class: explains the margin of the target logit over
 * the others. A constant (no graph). With the one-hot seed a penalty only sees evidence FOR the
 * target logit; a model can still use a forbidden region to push the other logits down, invisibly
 * (examples/explanation-guided.ts shows it). The contrastive seed closes that loophole.
 */
export function contrastiveSeed(output: Tensor, targets: ArrayLike<number>): Tensor {
  const oh = oneHotSeed(output.detach(), targets);
  const k = output.shape[1]!;
  if (k < 2) throw new ExplainError('contrastiveSeed: needs at least 2 classes');
  return E.noGrad(() => E.sub(E.mul(oh, 1 + 1 / (k - 1)), 1 / (k - 1)));
}

const crossEntropyLoss: TaskLoss = (logits, targets) => E.crossEntropy(logits, targets);

/**
 * The losses of one explanation-guided step, as recorded tensors (differentiate `total` w.r.t.
 * the parameters yourself, or use `explanationGuidedStep`). The graph lives as long as the
 * returned tensors.
 */
export function explanationGuidedLosses(o: Omit<ExplanationGuidedOptions, 'optimizer'>): ExplanationGuidedLosses {
  if (E.currentRecording()) throw new ExplainError('explanation-guided training: not allowed inside a recording');
  if (!Number.isFinite(o.lambda) || o.lambda < 0) throw new ExplainError(`explanation-guided training: lambda must be a finite number >= 0, got ${o.lambda}`);
  const view: Forward = o.view ?? o.model;
  const taskLoss = o.taskLoss ?? crossEntropyLoss;
  const separate = (o.explanationMode ?? 'auto') === 'auto' && o.model.modules().some(isModeDependent);
  const createGraph = o.lambda > 0;

  let task: Tensor | null = null;
  if (separate) task = taskLoss(runForward(o.model, o.input), o.targets);

  const explain = (): { output: Tensor; relevance: Tensor } => {
    const rec = recordForward(view, o.input);
    const seed: Seed = o.seed ?? oneHotSeed(rec.output, o.targets);
    const { relevance } = rec.attribute(seed, { composite: o.composite, createGraph });
    return { output: rec.output, relevance };
  };
  let ex: { output: Tensor; relevance: Tensor };
  if (separate) {
    const modes = o.model.modules().map((m) => [m, m.training] as const);
    o.model.eval();
    try {
      ex = explain();
    } finally {
      for (const [m, t] of modes) m.training = t;
    }
  } else {
    ex = explain();
    task = taskLoss(ex.output, o.targets);
  }
  const explanation = explanationLoss(ex.relevance, o.mask, o.loss);
  const total = createGraph ? E.add(task!, E.mul(explanation, o.lambda)) : task!;
  return { total, task: task!, explanation, relevance: ex.relevance, separateForwards: separate };
}

export interface ExplanationGuidedStepOptions extends ExplanationGuidedOptions {
  /** Updates the parameters it holds (built on the model or on a parameter list). */
  optimizer: Optimizer;
}

export interface ExplanationGuidedStepResult {
  /** task + lambda * explanation. */
  loss: number;
  taskLoss: number;
  explanationLoss: number;
  /** The relevance of this step, detached (no graph). */
  relevance: Tensor;
  separateForwards: boolean;
}

/**
 * One optimizer step on task loss + lambda * explanation penalty: records the forward, computes the
 * relevance with a recorded backward (seed: one-hot of the targets), differentiates the total
 * w.r.t. the optimizer's parameters that require grad (their `.grad` is REPLACED, not accumulated),
 * steps the optimizer and returns plain numbers. No graph survives the call.
 */
export function explanationGuidedStep(o: ExplanationGuidedStepOptions): ExplanationGuidedStepResult {
  const res = explanationGuidedLosses(o);
  const params = o.optimizer.params().filter((p) => p.requiresGrad);
  if (!params.length) throw new ExplainError('explanationGuidedStep: the optimizer holds no parameter that requires grad');
  // grad (not backward): only the paths to the parameters are walked, the input's gradient is never built.
  const grads = E.grad(res.total, params, { allowUnused: true });
  o.optimizer.zeroGrad();
  params.forEach((p, i) => {
    p.grad = grads[i] ?? null;
  });
  o.optimizer.step();
  return {
    loss: res.total.item(),
    taskLoss: res.task.item(),
    explanationLoss: res.explanation.item(),
    relevance: res.relevance.detach(),
    separateForwards: res.separateForwards,
  };
}
