/**
 * zennit's BasicHook as a rule: K terms of modified inputs and parameters, a gradient mapper and a
 * reducer. `BasicRule.backward` is one template (run the terms, map the relevance to gradients,
 * take the terms' VJPs, reduce them to input and parameter relevance); what varies is how the
 * terms see the layer's tensors, which is one of two strategies chosen per call:
 * - `detachedTerms`, an ordinary explanation: the terms run on detached copies, so the nested VJP
 *   walks the rule's own few nodes only, and terms that cannot contribute are not differentiated;
 * - `recordedTerms`, a backward with createGraph: the terms run on the recorded tensors, so a
 *   second backward reaches the parameters and the input through the rule.
 */
import * as E from '../engine/index.js';
import type { LayerRecord, Tensor } from '../engine/index.js';
import { identity, type ParamModifier, type Rule, type RuleContext, type RuleTerm } from './core.js';
import { InputTimesGradient, reduce, type Reducer } from './reducers.js';

type Params = Readonly<Record<string, Tensor | null>>;

export interface BasicRuleSpec {
  name: string;
  settings?: Record<string, unknown>;
  terms: RuleTerm[];
  /** Maps the incoming relevance and the K term outputs to K gradients (null: the term gets none). */
  gradientMapper: (relevance: Tensor, outputs: Tensor[], layer: LayerRecord) => (Tensor | null)[];
  /**
   * Reduces the K term inputs and their VJPs (null where a term got no gradient) to one relevance;
   * also applied to the modified parameters and their VJPs for parameter relevance.
   */
  reducer: Reducer;
  /**
   * The map the rule explains, when it is not the layer's own forward: LayerNorm's rule explains the
   * affine map with the standard deviation held constant. `record` says whether the backward is
   * recorded (then values taken from `layer` must stay attached, so a double backward sees them).
   */
  forward?: (layer: LayerRecord, inputs: readonly Tensor[], params: Params, record: boolean) => Tensor;
  /** Inputs held constant: they get no relevance (CP-LRP's attention weights); the others share it. */
  constantInputs?: readonly number[];
  /**
   * A cheaper route to the same relevance for an ordinary explanation (nothing recorded, no
   * parameter relevance), e.g. Gamma's (gamma-shortcut.ts); null where it does not apply, and the
   * template runs. A recorded backward always runs the template.
   */
  shortcut?: (layer: LayerRecord, relevance: Tensor) => (Tensor | null)[] | null;
}

/** How the terms of one backward see the layer's inputs and parameters. */
interface TermTensors {
  /** The backward is recorded (createGraph): everything it computes must stay differentiable. */
  readonly records: boolean;
  param(p: Tensor): Tensor;
  /** A term input that is a distinct VJP target. */
  input(x: Tensor, modifier: (x: Tensor) => Tensor): Tensor;
  /** A modified parameter as the rule's parameter-relevance VJP sees it. */
  modifiedParam(p: Tensor, wantParams: boolean): Tensor;
}

const leaf = (p: Tensor): Tensor => (p.requiresGrad ? p : p.detach().requireGrad());

const detachedTerms: TermTensors = {
  records: false,
  param: (p) => p.detach(),
  input: (x, modifier) => modifier(x.detach()).detach().requireGrad(),
  modifiedParam: (p, wantParams) => (wantParams ? leaf(p) : p),
};

const recordedTerms: TermTensors = {
  records: true,
  param: (p) => p,
  input: (x, modifier) => {
    const m = modifier(x);
    return m.requiresGrad ? E.alias(m) : m.detach().requireGrad();
  },
  modifiedParam: (p) => p,
};

/** The K terms evaluated: inputs per term, parameters per term, outputs. */
interface Terms {
  xs: Tensor[][];
  ps: Params[];
  ys: Tensor[];
  /** The term that is the recorded layer itself (`recordedTerm`), or -1. */
  recorded: number;
}

/** The VJP of term k w.r.t. its input slot i (inputs first, then the parameters asked for); null for a term not differentiated. */
type TermVjp = (k: number, slot: number) => Tensor | null;

/** A term's parameters: `mod` applied to `params` (cached by its `cacheKey` when nothing is recorded). */
export function applyParamModifier(params: Params, mod: ParamModifier, records: boolean): Record<string, Tensor | null> {
  const out: Record<string, Tensor | null> = {};
  const keys = mod.keys === undefined || mod.keys === null ? Object.keys(params) : mod.keys;
  for (const [name, p] of Object.entries(params)) {
    if (p === null || !keys.includes(name)) {
      out[name] = p;
      continue;
    }
    if (mod.zeroParams?.includes(name)) out[name] = E.zerosLike(p);
    // Nothing differentiates a detached term's parameters through the modifier: cache its result only.
    else if (!records && mod.cacheKey !== undefined) out[name] = E.memoDerived(`${mod.cacheKey}|${name}`, [p], () => mod.modify(p, name));
    else out[name] = mod.modify(p, name);
  }
  return out;
}

/** True when `mod` leaves every parameter of the layer as it is (no modification, nothing zeroed). */
function keepsParams(mod: ParamModifier, params: Params): boolean {
  const keys = mod.keys ?? Object.keys(params);
  return Object.entries(params).every(([name, p]) => p === null || !keys.includes(name) || (mod.modify === identity && !mod.zeroParams?.includes(name)));
}

export class BasicRule implements Rule {
  readonly name: string;
  readonly settings: Readonly<Record<string, unknown>>;
  constructor(private readonly spec: BasicRuleSpec) {
    this.name = spec.name;
    this.settings = spec.settings ?? {};
  }

  backward(layer: LayerRecord, relevance: Tensor, ctx: RuleContext = {}): (Tensor | null)[] {
    // The outer backward records only when it was asked to (createGraph).
    const how = E.isGradEnabled() ? recordedTerms : detachedTerms;
    const paramRelevance = ctx.paramRelevance;
    const shortcut = this.spec.shortcut;
    if (shortcut && !how.records && paramRelevance === undefined) {
      const r = E.withGradMode(true, () => shortcut(layer, relevance));
      if (r) return r;
    }
    return E.withGradMode(true, () => {
      const terms = this.runTerms(layer, how, paramRelevance !== undefined);
      const seeds = E.withGradMode(how.records, () => this.spec.gradientMapper(relevance, terms.ys, layer));
      const vanishing = this.vanishingTerms(terms, how, paramRelevance !== undefined);
      const paramNames = paramRelevance ? Object.keys(layer.params).filter((n) => layer.params[n] !== null) : [];
      const vjp = termVjps(terms, seeds, vanishing, paramNames, how.records);
      return E.withGradMode(how.records, () => {
        if (paramRelevance) this.addParamRelevance(layer, terms, vjp, paramNames, paramRelevance);
        return this.inputRelevance(layer, terms, vjp, vanishing);
      });
    });
  }

  private runTerms(layer: LayerRecord, how: TermTensors, wantParams: boolean): Terms {
    const { terms, forward } = this.spec;
    const base: Record<string, Tensor | null> = {};
    for (const [k, p] of Object.entries(layer.params)) base[k] = p === null ? null : how.param(p);
    const recorded = this.recordedTerm(layer, how, wantParams);
    const xs = terms.map((t, k) => (k === recorded ? [...layer.inputs] : layer.inputs.map((x) => how.input(x, t.input))));
    const ps = terms.map((t) => {
      const modified = applyParamModifier(base, t.params, how.records);
      for (const [k, p] of Object.entries(modified)) if (p !== null) modified[k] = how.modifiedParam(p, wantParams);
      return modified;
    });
    const ys = terms.map((t, k) => {
      if (k === recorded) return layer.output;
      const y = forward ? forward(layer, xs[k]!, ps[k]!, how.records) : layer.fn(xs[k]!, ps[k]!);
      return t.output ? t.output(y) : y;
    });
    return { xs, ps, ys, recorded };
  }

  /**
   * The term that is the layer itself (identity input, parameters as recorded) in an ordinary
   * explanation of a one-input layer: its output is the recorded output, bit for bit, and its VJP
   * the layer's recorded one, so it is not run again (Epsilon's only term, ZBox's first). -1: none.
   * One input only: with two, one could be computed from the other, and the recorded graph would
   * then pass gradient between them where the template's detached copies do not.
   */
  private recordedTerm(layer: LayerRecord, how: TermTensors, wantParams: boolean): number {
    if (how.records || wantParams || this.spec.forward || this.spec.constantInputs?.length) return -1;
    if (layer.inputs.length !== 1 || !layer.inputs[0]!.requiresGrad) return -1;
    return this.spec.terms.findIndex((t) => t.input === identity && !t.output && keepsParams(t.params, layer.params));
  }

  /**
   * Terms that add nothing and need no VJP: under an input-weighted reducer, those whose inputs are
   * all zero. Not when recording: d(x_k * g_k)/dx_k = g_k is not zero where x_k is; and not for
   * parameter relevance, which weights by the parameters instead.
   */
  private vanishingTerms(terms: Terms, how: TermTensors, wantParams: boolean): boolean[] {
    const skips = !how.records && !wantParams && this.spec.reducer instanceof InputTimesGradient;
    return terms.xs.map((xs) => skips && xs.every((x) => E.isAllZero(x)));
  }

  private addParamRelevance(layer: LayerRecord, terms: Terms, vjp: TermVjp, paramNames: string[], out: Map<string, Tensor>): void {
    const nIn = layer.inputs.length;
    paramNames.forEach((n, pi) => {
      const mods = terms.ps.map((ps) => ps[n]!);
      const gs = mods.map((m, k) => vjp(k, nIn + pi) ?? E.zerosLike(m));
      const key = layer.name ? `${layer.name}.${n}` : n;
      const rel = reduce(this.spec.reducer, mods, gs);
      const prev = out.get(key);
      out.set(key, prev ? E.add(prev, rel) : rel);
    });
  }

  /** Each input's share; layers with several tensor inputs give each its own (zennit would copy the first input's). */
  private inputRelevance(layer: LayerRecord, terms: Terms, vjp: TermVjp, vanishing: boolean[]): (Tensor | null)[] {
    return layer.inputs.map((x, i) => {
      if (this.spec.constantInputs?.includes(i)) return null;
      const gs = terms.xs.map((_, k) => vjp(k, i));
      if (gs.every((g) => g === null) && !vanishing.some((v) => v)) return null;
      const r = reduce(this.spec.reducer, terms.xs.map((xs) => xs[i]!), gs);
      return r.shape.length === x.shape.length && r.shape.every((d, j) => d === x.shape[j]) ? r : null;
    });
  }
}

/** One nested `grad` over the terms that got a gradient and do not vanish, w.r.t. their inputs (and parameters). */
function termVjps(terms: Terms, seeds: (Tensor | null)[], vanishing: boolean[], paramNames: string[], records: boolean): TermVjp {
  const active = seeds.map((s, k) => (s && !vanishing[k] ? k : -1)).filter((k) => k >= 0);
  const targets: Tensor[] = [];
  for (const k of active) {
    targets.push(...terms.xs[k]!);
    for (const n of paramNames) targets.push(leaf(terms.ps[k]![n]!));
  }
  const grads = E.grad(active.map((k) => terms.ys[k]!), targets, {
    gradOutputs: active.map((k) => seeds[k]!),
    createGraph: records,
    // The recorded layer's graph belongs to the explanation: another target may walk it again.
    retainGraph: records || terms.recorded >= 0,
    allowUnused: true,
  });
  const stride = (terms.xs[0]?.length ?? 0) + paramNames.length;
  return (k, slot) => {
    const j = active.indexOf(k);
    return j < 0 ? null : grads[j * stride + slot] ?? null;
  };
}
