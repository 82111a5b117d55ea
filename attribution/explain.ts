import * as E from '../engine/index.js';
import type { LayerRecord, Recording, Tensor } from '../engine/index.js';
import type { Composite, RuleAssignment } from '../composites/index.js';
import { assignRules, ruleResolver } from './resolver.js';
import { ArgumentError, safeName } from '../engine/errors.js';

/** A model is anything with `call(x)` (every nn Module) or a plain forward function. */
export type Forward = ((x: Tensor) => Tensor) | { call(x: Tensor): Tensor };
/** The vector fed into the backward pass at the output: a tensor, or a function of the output. */
export type Seed = Tensor | ((output: Tensor) => Tensor);

export class ExplainError extends ArgumentError {
  override name = 'ExplainError';
  constructor(message: string, code = 'ERR_EXPLAIN', options?: { cause?: unknown }) {
    super(message, code, options);
  }
}

export function runForward(model: Forward, x: Tensor): Tensor {
  return typeof model === 'function' ? model(x) : model.call(x);
}

export interface AttributeOptions {
  /** null / undefined: the plain gradient. */
  composite?: Composite | null;
  /** Record the backward so the relevance can be differentiated again (w.r.t. parameters or input). */
  createGraph?: boolean;
  /** Also collect each parameter tensor's relevance (rules with parameter modifiers only). */
  paramRelevance?: boolean;
  /** Called with each layer's incoming relevance and the relevance it passes to its inputs. */
  onLayer?: (layer: LayerRecord, relevanceOut: Tensor, relevanceIn: readonly (Tensor | null)[]) => void;
  /**
   * Progress of the backward, for a bar or a log (nothing here knows about terminals): called after
   * each recorded layer with the count done so far and the recording's layer count, and once more
   * with (total, total) at the end (layers off the input's path are never visited).
   */
  onProgress?: (done: number, total: number, layer: LayerRecord | null) => void;
}

export interface Attribution {
  relevance: Tensor;
  /** `<layer name>.<param>` -> relevance of that parameter tensor (summed over the batch). */
  paramRelevance?: Map<string, Tensor>;
  /** The rule each layer got (layers without an entry used the plain gradient). */
  rules: RuleAssignment;
}

/**
 * One recorded forward pass that can be explained many times: with the plain gradient, with any
 * composite, with or without a recorded backward. The rules live in each `attribute` call, never
 * in the graph, so differentiating a relevance map afterwards runs plain VJPs only.
 *
 * The second derivative never re-applies the rules by accident. `attribute(seed, {composite,
 * createGraph: true})` hands the rules to ONE `grad` call as a resolver; each mapped layer's
 * `rule.backward` runs exactly once there, and everything it computes (modified inputs and
 * parameters such as `clamp(W, 0)`, the re-run layer terms, stabilisers, the nested VJPs, the
 * reducer) is recorded as ordinary ops of the real parameters (canonizer-merged parameters are
 * themselves recorded functions of the originals). The relevance is then an ordinary function of
 * input and parameters. `grad(loss(relevance), params)` (or `loss.backward()`) passes no rules: it
 * walks those recorded ops and the forward with their ordinary VJPs, so no rule runs again (a
 * layer output met on that walk is just a tensor; its rule is not in that call), and the result is
 * the exact derivative, which zennit cannot give because its rules detach the parameters.
 * spec/attribution/egl.spec.ts checks it against finite differences for every rule and counts the rule calls
 * (one per mapped layer during `attribute`, none during the second `grad`).
 *
 * A RecordedForward keeps its graph (and, after `createGraph`, the recorded backward) alive as long
 * as it, its output or a recorded relevance is referenced: do not keep one across training steps.
 */
export class RecordedForward {
  /** Each parameter the recorded layers used, with its in-place write count at recording time. */
  private readonly paramVersions: [string, Tensor, number][] = [];

  constructor(
    readonly input: Tensor,
    readonly output: Tensor,
    readonly recording: Recording,
    /** The model's own parameters (a canonized layer's merged weights are derived from them). */
    modelParams: readonly [string, Tensor][] = [],
  ) {
    // With the check: a write made before this forward must count as before, not after it.
    const seen = new Set<Tensor>();
    const add = (name: string, p: Tensor): void => {
      if (seen.has(p)) return;
      seen.add(p);
      this.paramVersions.push([name, p, E.paramVersion(p)]);
    };
    for (const [name, p] of modelParams) add(name, p);
    for (const layer of recording.layers) for (const [name, p] of Object.entries(layer.params)) if (p) add(`${layer.name}.${name}`, p);
  }

  /** A recording holds the parameter values of its forward: after an in-place write its backward would mix old and new weights. */
  private checkParamsUnchanged(): void {
    for (const [name, p, version] of this.paramVersions) {
      if (E.paramVersion(p) !== version) {
        throw new ExplainError(
          `parameter '${safeName(name, 120)}' was modified in place (an optimizer step or a direct write) after this forward was recorded; record the forward again (as PyTorch refuses a backward through a tensor modified in place after it was saved)`,
          'ERR_STALE_RECORDING',
        );
      }
    }
  }

  seedFor(seed: Seed): Tensor {
    const s = typeof seed === 'function' ? seed(this.output) : seed;
    if (s.ndim !== this.output.ndim || s.shape.some((d, i) => d !== this.output.shape[i])) {
      throw new ExplainError(`seed of shape [${s.shape.join(', ')}] does not match the output's [${this.output.shape.join(', ')}]`);
    }
    if (s.dtype !== this.output.dtype) throw new ExplainError(`seed is ${s.dtype} but the output is ${this.output.dtype}`);
    return s;
  }

  attribute(seed: Seed, opts: AttributeOptions = {}): Attribution {
    this.checkParamsUnchanged();
    const assignment = assignRules(opts.composite, this.recording);
    const paramRelevance = opts.paramRelevance ? new Map<string, Tensor>() : undefined;
    const ctx = { paramRelevance };
    const resolve = ruleResolver(assignment, { context: () => ctx });
    const gradOutputs = this.seedFor(seed);
    const total = this.recording.layers.length;
    let done = 0;
    const { onLayer, onProgress } = opts;
    const onLayerGrad: AttributeOptions['onLayer'] = onProgress
      ? (layer, rOut, rIn) => {
          onLayer?.(layer, rOut, rIn);
          onProgress(Math.min(++done, total), total, layer);
        }
      : onLayer;
    // An outer noGrad must not silently turn a createGraph backward into an unrecorded one.
    const [relevance] = E.withGradMode(true, () =>
      E.grad(this.output, this.input, {
        gradOutputs,
        createGraph: opts.createGraph ?? false,
        retainGraph: true,
        rules: resolve,
        onLayerGrad: onLayerGrad,
        allowUnused: true,
      }),
    );
    // No path from the output back to the input: a zero map would look like an explanation.
    if (!relevance) throw new ExplainError('the recorded output does not depend on the input through recorded ops (no graph): did the forward detach the input?');
    onProgress?.(total, total, null);
    return { relevance, paramRelevance, rules: assignment };
  }
}

/**
 * Records `model(input)`. The input is used as given when it already requires grad (so the
 * relevance can be differentiated w.r.t. it); otherwise a leaf copy that requires grad is used.
 * Recording is an explicit request for a graph, so an outer `noGrad` does not apply inside it
 * (as `torch.enable_grad()` inside an explainer): the forward is always recorded, and
 * `attribute` gives the same relevance inside and outside `noGrad`.
 */
export function recordForward(model: Forward, input: Tensor): RecordedForward {
  const x = input.requiresGrad ? input : input.detach().requireGrad();
  // One scope for the forward and the noting of parameter versions: weights the forward's cache
  // lookups already compared are not compared again (engine/param-cache.ts).
  return E.withParamCheckScope(() => {
    const { recording, result } = E.withGradMode(true, () => E.record(() => runForward(model, x)));
    if (!(result instanceof E.Tensor)) throw new ExplainError('the model must return a single tensor');
    recording.outputs = [result];
    return new RecordedForward(x, result, recording, namedParamsOf(model));
  });
}

/** `model`'s named parameters when it is a Module or a canonized view of one; none for a plain function. */
function namedParamsOf(model: Forward): [string, Tensor][] {
  const m = typeof model === 'function' ? null : 'model' in model && model.model instanceof Object ? (model.model as object) : model;
  const named = m && 'namedParameters' in m && typeof m.namedParameters === 'function' ? (m.namedParameters as () => Iterable<[string, Tensor]>)() : [];
  return [...named];
}

/** One-hot rows for class targets, shaped like `output` ([N, classes]). */
export function oneHotSeed(output: Tensor, targets: ArrayLike<number>): Tensor {
  if (output.ndim !== 2) throw new ExplainError(`a target needs an output of shape [N, classes], got [${output.shape.join(', ')}]`);
  if (targets.length !== output.shape[0]) throw new ExplainError(`${targets.length} targets for a batch of ${output.shape[0]}`);
  for (let i = 0; i < targets.length; i++) {
    const t = targets[i]!;
    if (!Number.isInteger(t) || t < 0 || t >= output.shape[1]!) throw new ExplainError(`target ${t} (batch item ${i}) is out of range: the model has ${output.shape[1]} outputs`);
  }
  return E.oneHot(targets, output.shape[1]!, output);
}
