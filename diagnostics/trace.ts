/**
 * One explanation pass with everything a diagnostic wants to see: the relevance arriving at every
 * recorded layer, what each layer hands to each of its inputs, the relevance its bias takes, and
 * the relevance at chosen intermediate tensors, all from the SAME backward (one `grad` call).
 *
 * How it hooks into the engine without changing it:
 * - the rule resolver is `RecordedForward.attribute`'s (attribution/resolver.ts), given a context
 *   per rule call so that each call gets its own `paramRelevance` map (the bias share of that one
 *   call, even when a module runs twice);
 * - `onLayerGrad` reports (layer, relevance arriving, relevance per input) for rule layers and for
 *   single-node gradient layers; a gradient layer made of several nodes (e.g. a Linear that is a
 *   matmul plus an add) would only report its output node's inputs, so it is given a "rule" that
 *   is its own plain VJP, taken by re-running `layer.fn` on detached inputs (exactly the local
 *   Jacobian; the numbers are those of the plain backward);
 * - intermediate tensors are extra `grad` targets: the engine keeps their accumulated gradient.
 */
import * as E from '../engine/index.js';
import type { LayerRecord, Recording, Tensor } from '../engine/index.js';
import type { Composite, RuleAssignment } from '../composites/index.js';
import type { Rule, RuleContext } from '../rules/index.js';
import { assignRules, ruleFor, ruleResolver, type RecordedForward, type Seed } from '../attribution/index.js';
import { Module } from '../nn/index.js';
import { ArgumentError } from '../engine/errors.js';

export class DiagnosticsError extends ArgumentError {
  override name = 'DiagnosticsError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'ERR_DIAGNOSTICS', options);
  }
}

// ---- small numeric helpers -----------------------------------------------------------------

/** Sum of every element, accumulated in float64 with Neumaier compensation. */
export function total(t: Tensor): number {
  return sumRange(t, 0, t.size);
}

function sumRange(t: Tensor, from: number, to: number): number {
  const d = t.data;
  let s = 0;
  let c = 0;
  for (let i = from; i < to; i++) {
    const v = d[i]!;
    const u = s + v;
    c += Math.abs(s) >= Math.abs(v) ? s - u + v : v - u + s;
    s = u;
  }
  return s + c;
}

/** Sum per batch item (dim 0); a scalar tensor counts as one item. */
export function totalPerSample(t: Tensor): number[] {
  if (t.ndim === 0) return [total(t)];
  const n = t.shape[0]!;
  const per = n === 0 ? 0 : t.size / n;
  return Array.from({ length: n }, (_, i) => sumRange(t, i * per, (i + 1) * per));
}

// ---- the recording seen from the input -----------------------------------------------------

/**
 * The model inputs of a recording: leaves that require grad and are not parameters of the modules
 * the recording ran (the roots of every recorded module are searched, so parameters a canonizer
 * only reads, such as a merged batch norm's weight, count as parameters too).
 */
export function inferInputs(recording: Recording): Tensor[] {
  const params = new Set<Tensor>();
  const roots = new Set<Module>();
  for (const l of recording.layers) {
    if (!(l.module instanceof Module)) continue;
    let m: Module = l.module;
    while (m.parent) m = m.parent;
    roots.add(m);
  }
  for (const r of roots) for (const p of r.parameters()) params.add(p);
  for (const l of recording.layers) for (const p of Object.values(l.params)) if (p) params.add(p);
  const out: Tensor[] = [];
  const seen = new Set<Tensor>();
  for (const node of recording.nodes) {
    for (const t of node.inputs) {
      if (t.node === null && t.requiresGrad && !params.has(t) && !seen.has(t)) {
        seen.add(t);
        out.push(t);
      }
    }
  }
  return out;
}

/** Every tensor of the recording computed from one of `inputs` (the inputs included). */
export function dependentTensors(recording: Recording, inputs: readonly Tensor[]): Set<Tensor> {
  const dep = new Set<Tensor>(inputs);
  for (const node of recording.nodes) if (node.inputs.some((t) => dep.has(t))) dep.add(node.output);
  return dep;
}

/**
 * Unique, stable keys for the layers: the dotted name, or `name@k` (k = 0, 1, ...) for every call
 * of a module that ran more than once (torchvision's BasicBlock applies one ReLU twice).
 */
export function layerKeys(recording: Recording): Map<LayerRecord, string> {
  const count = new Map<string, number>();
  for (const l of recording.layers) count.set(l.name, (count.get(l.name) ?? 0) + 1);
  const seen = new Map<string, number>();
  const keys = new Map<LayerRecord, string>();
  for (const l of recording.layers) {
    const k = seen.get(l.name) ?? 0;
    seen.set(l.name, k + 1);
    keys.set(l, count.get(l.name)! > 1 ? `${l.name}@${k}` : l.name);
  }
  return keys;
}

/** Resolves layer names (or `name@k` keys) to layers; a name that ran several times must be given with `@k`. */
export function findLayers(recording: Recording, names: readonly string[]): LayerRecord[] {
  const keys = layerKeys(recording);
  const byKey = new Map<string, LayerRecord>();
  for (const [l, k] of keys) byKey.set(k, l);
  return names.map((n) => {
    const hit = byKey.get(n);
    if (hit) return hit;
    const calls = recording.layers.filter((l) => l.name === n);
    if (calls.length > 1) {
      throw new DiagnosticsError(`layer '${n}' ran ${calls.length} times; name one call: ${calls.map((l) => `'${keys.get(l)}'`).join(', ')}`);
    }
    const known = [...byKey.keys()].filter((k) => !k.startsWith('op:')).slice(0, 12);
    throw new DiagnosticsError(`no recorded layer '${n}' (layers: ${known.map((k) => `'${k}'`).join(', ')}${byKey.size > known.length ? ', ...' : ''})`);
  });
}

// ---- the traced pass -----------------------------------------------------------------------

export interface LayerTrace {
  layer: LayerRecord;
  rule: Rule | null;
  /** The relevance arriving at the layer's output (final: the backward reached the layer). */
  relevanceOut: Tensor;
  /** What the layer handed to each of its inputs (null: nothing). */
  relevanceIn: readonly (Tensor | null)[];
  /** The parameter relevance of this one rule call (`<param>` -> tensor), when the layer has a bias. */
  paramRelevance?: Map<string, Tensor>;
}

export interface Trace {
  recorded: RecordedForward;
  seed: Tensor;
  assignment: RuleAssignment;
  /** The relevance at the model input (equal to `attribute(seed, {composite}).relevance`). */
  relevance: Tensor;
  /** Layers the backward reached, in the order it reached them. */
  layers: Map<LayerRecord, LayerTrace>;
  /** Relevance at the output of each layer asked for with `at` (null: none arrived). */
  at: Map<LayerRecord, Tensor | null>;
  /** Tensors computed from the model input. */
  dependsOnInput: Set<Tensor>;
  keys: Map<LayerRecord, string>;
}

export interface TraceOptions {
  /** Layers whose output relevance to collect (extra targets of the same grad call). */
  at?: readonly LayerRecord[];
  /** Collect each rule call's bias relevance (default true). */
  bias?: boolean;
}

/** A layer whose output node takes the layer's inputs directly (no internal node on the input path). */
function isSingleNode(layer: LayerRecord, dep: Set<Tensor>): boolean {
  const node = layer.output.node;
  if (!node) return true;
  const direct = new Set<Tensor>(layer.inputs);
  for (const p of Object.values(layer.params)) if (p) direct.add(p);
  return node.inputs.every((t) => direct.has(t) || !dep.has(t));
}

/** The plain VJP of one layer alone: `layer.fn` re-run on detached inputs, differentiated w.r.t. them. */
function localVjp(layer: LayerRecord, g: Tensor): (Tensor | null)[] {
  return E.withGradMode(true, () => {
    const xs = layer.inputs.map((x) => x.detach().requireGrad());
    const ps: Record<string, Tensor | null> = {};
    for (const [k, p] of Object.entries(layer.params)) ps[k] = p ? p.detach() : null;
    const y = layer.fn(xs, ps);
    return E.grad(y, xs, { gradOutputs: g, allowUnused: true });
  });
}

/**
 * Runs the explanation `recorded.attribute(seed, {composite})` would run, and records what every
 * layer received and gave. Retains the graph (the recording can be explained again).
 */
export function traceExplanation(recorded: RecordedForward, seed: Seed, composite: Composite | null, opts: TraceOptions = {}): Trace {
  const recording = recorded.recording;
  const s = recorded.seedFor(seed);
  const assignment = assignRules(composite, recording);
  const dep = dependentTensors(recording, [recorded.input]);
  const keys = layerKeys(recording);
  const wantBias = opts.bias ?? true;
  const layers = new Map<LayerRecord, LayerTrace>();
  const paramRel = new Map<LayerRecord, Map<string, Tensor>>();

  const resolve = ruleResolver(assignment, {
    context: (l) => {
      const ctx: RuleContext = {};
      if (wantBias && l.params.bias) paramRel.set(l, (ctx.paramRelevance = new Map()));
      return ctx;
    },
    plain: (layer) => (isSingleNode(layer, dep) ? null : (l, g) => localVjp(l, g)),
  });

  const at = [...new Set(opts.at ?? [])];
  for (const l of at) {
    if (!dep.has(l.output)) throw new DiagnosticsError(`layer '${keys.get(l)}' does not depend on the model input: no relevance reaches it`);
  }
  const grads = E.grad(recorded.output, [recorded.input, ...at.map((l) => l.output)], {
    gradOutputs: s,
    retainGraph: true,
    allowUnused: true,
    rules: resolve,
    onLayerGrad: (layer, g, gIn) => {
      layers.set(layer, { layer, rule: ruleFor(assignment, layer), relevanceOut: g, relevanceIn: gIn });
    },
  });
  for (const [l, m] of paramRel) {
    const t = layers.get(l);
    if (t) t.paramRelevance = m;
  }
  const atMap = new Map<LayerRecord, Tensor | null>();
  at.forEach((l, i) => atMap.set(l, grads[i + 1] ?? null));
  return {
    recorded,
    seed: s,
    assignment,
    relevance: grads[0] ?? E.zerosLike(recorded.input),
    layers,
    at: atMap,
    dependsOnInput: dep,
    keys,
  };
}
