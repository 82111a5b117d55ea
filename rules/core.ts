import * as E from '../engine/index.js';
import type { LayerRecord, Tensor } from '../engine/index.js';

type Params = Readonly<Record<string, Tensor | null>>;

/** Where a rule reports parameter relevance (name: `<layer name>.<param>`). */
export interface RuleContext {
  paramRelevance?: Map<string, Tensor>;
}

/**
 * A modified-gradient rule for one layer: given the relevance at the layer's output, the relevance
 * of each of its inputs. Built from recorded ops, so it can be differentiated again.
 */
export interface Rule {
  readonly name: string;
  /** The rule's settings, for diagnostics and the CLI. */
  readonly settings: Readonly<Record<string, unknown>>;
  backward(layer: LayerRecord, relevance: Tensor, ctx?: RuleContext): (Tensor | null)[];
}

/** zennit's ParamMod: which parameters to modify and which to replace by zeros. */
export interface ParamModifier {
  modify: (param: Tensor, name: string) => Tensor;
  /** Parameters to modify; null = every parameter the layer has. [] = none (the layer runs as recorded). */
  keys?: readonly string[] | null;
  zeroParams?: readonly string[];
}

export interface RuleTerm {
  input: (x: Tensor) => Tensor;
  params: ParamModifier;
  output?: (y: Tensor) => Tensor;
}

export interface BasicRuleSpec {
  name: string;
  settings?: Record<string, unknown>;
  terms: RuleTerm[];
  /** Maps the incoming relevance and the K term outputs to K gradients (null: the term gets none). */
  gradientMapper: (relevance: Tensor, outputs: Tensor[], layer: LayerRecord) => (Tensor | null)[];
  /** Reduces the K term inputs and their VJPs (null where a term got no gradient) to one relevance. */
  reducer: (inputs: Tensor[], gradients: (Tensor | null)[]) => Tensor;
  /**
   * The reducer weights each term's gradient by the term's input (a combination of x_k * g_k) and
   * treats a null gradient as zero. Then a term whose inputs are all zero (the negative part of a
   * ReLU output) adds nothing, and when the backward is not recorded its VJP is skipped.
   */
  inputWeightedReducer?: boolean;
  /**
   * The map the rule explains, when it is not the layer's own forward: LayerNorm's rule explains the
   * affine map with the standard deviation held constant. `record` says whether the backward is
   * recorded (then values taken from `layer` must stay attached, so a double backward sees them).
   */
  forward?: (layer: LayerRecord, inputs: readonly Tensor[], params: Params, record: boolean) => Tensor;
  /** Inputs held constant: they get no relevance (CP-LRP's attention weights); the others share it. */
  constantInputs?: readonly number[];
}



export function identity<T>(x: T): T {
  return x;
}

export const noMod = (zeroParams?: readonly string[]): ParamModifier => ({ modify: identity, zeroParams });

export function toList(names: string | readonly string[] | null | undefined): string[] {
  if (names === undefined || names === null) return [];
  return typeof names === 'string' ? [names] : [...names];
}

/** zennit's zero_bias: the list plus 'bias'. */
export function withBias(names: string | readonly string[] | null | undefined): string[] {
  const list = toList(names);
  return list.includes('bias') ? list : [...list, 'bias'];
}

function applyParamModifier(params: Params, mod: ParamModifier): Record<string, Tensor | null> {
  const out: Record<string, Tensor | null> = {};
  const keys = mod.keys === undefined || mod.keys === null ? Object.keys(params) : mod.keys;
  for (const [name, p] of Object.entries(params)) {
    if (p === null || !keys.includes(name)) {
      out[name] = p;
      continue;
    }
    out[name] = mod.zeroParams?.includes(name) ? E.zerosLike(p) : mod.modify(p, name);
  }
  return out;
}

/** A term input that is a distinct VJP target; detached when the backward is not being recorded. */
function termInput(x: Tensor, modifier: (x: Tensor) => Tensor, record: boolean): Tensor {
  if (!record) return modifier(x.detach()).detach().requireGrad();
  const m = modifier(x);
  return m.requiresGrad ? E.alias(m) : m.detach().requireGrad();
}

/**
 * zennit's BasicHook as a rule: K terms of modified inputs and parameters, a gradient mapper and a
 * reducer. Layers with several tensor inputs give each input its own share (zennit would copy the
 * first input's relevance to the others).
 */
export class BasicRule implements Rule {
  readonly name: string;
  readonly settings: Readonly<Record<string, unknown>>;
  constructor(private readonly spec: BasicRuleSpec) {
    this.name = spec.name;
    this.settings = spec.settings ?? {};
  }

  backward(layer: LayerRecord, relevance: Tensor, ctx: RuleContext = {}): (Tensor | null)[] {
    // The outer backward records only when it was asked to (createGraph).
    const record = E.isGradEnabled();
    const wantParams = ctx.paramRelevance !== undefined;
    const { terms, gradientMapper, reducer } = this.spec;
    return E.withGradMode(true, () => {
      const baseParams: Record<string, Tensor | null> = {};
      for (const [k, p] of Object.entries(layer.params)) baseParams[k] = p === null ? null : record ? p : p.detach();
      const xs = terms.map((t) => layer.inputs.map((x) => termInput(x, t.input, record)));
      const ps = terms.map((t) => {
        const modified = applyParamModifier(baseParams, t.params);
        if (!wantParams || record) return modified;
        const leaves: Record<string, Tensor | null> = {};
        for (const [k, p] of Object.entries(modified)) leaves[k] = p === null ? null : p.requiresGrad ? p : p.detach().requireGrad();
        return leaves;
      });
      const ys = terms.map((t, k) => {
        const y = this.spec.forward ? this.spec.forward(layer, xs[k]!, ps[k]!, record) : layer.fn(xs[k]!, ps[k]!);
        return t.output ? t.output(y) : y;
      });
      const seeds = E.withGradMode(record, () => gradientMapper(relevance, ys, layer));
      // Not when recording: d(x_k * g_k)/dx_k = g_k is not zero where x_k is.
      const vanishing = terms.map((_, k) => !record && !wantParams && this.spec.inputWeightedReducer === true && xs[k]!.every((x) => E.isAllZero(x)));
      const active = seeds.map((s, k) => (s && !vanishing[k] ? k : -1)).filter((k) => k >= 0);
      const paramNames = wantParams ? Object.keys(baseParams).filter((n) => baseParams[n] !== null) : [];
      const targets: Tensor[] = [];
      for (const k of active) {
        targets.push(...xs[k]!);
        for (const n of paramNames) {
          const p = ps[k]![n]!;
          targets.push(p.requiresGrad ? p : p.detach().requireGrad());
        }
      }
      const grads = E.grad(active.map((k) => ys[k]!), targets, {
        gradOutputs: active.map((k) => seeds[k]!),
        createGraph: record,
        allowUnused: true,
      });
      const nIn = layer.inputs.length;
      const stride = nIn + paramNames.length;
      const gradOf = (k: number, slot: number): Tensor | null => {
        const j = active.indexOf(k);
        return j < 0 ? null : grads[j * stride + slot] ?? null;
      };
      return E.withGradMode(record, () => {
        if (wantParams) {
          paramNames.forEach((n, pi) => {
            const mods = terms.map((_, k) => ps[k]![n]!);
            const gs = terms.map((_, k) => gradOf(k, nIn + pi) ?? E.zerosLike(mods[k]!));
            const key = layer.name ? `${layer.name}.${n}` : n;
            const rel = reducer(mods, gs);
            const prev = ctx.paramRelevance!.get(key);
            ctx.paramRelevance!.set(key, prev ? E.add(prev, rel) : rel);
          });
        }
        return layer.inputs.map((x, i) => {
          if (this.spec.constantInputs?.includes(i)) return null;
          const gs = terms.map((_, k) => gradOf(k, i));
          if (gs.every((g) => g === null) && !vanishing.some((v) => v)) return null;
          const r = reducer(terms.map((_, k) => xs[k]![i]!), gs);
          return r.shape.length === x.shape.length && r.shape.every((d, j) => d === x.shape[j]) ? r : null;
        });
      });
    });
  }
}

/** A rule given directly as a function of the layer and the incoming relevance. */
export class FunctionRule implements Rule {
  constructor(
    readonly name: string,
    private readonly fn: (layer: LayerRecord, relevance: Tensor) => (Tensor | null)[],
    readonly settings: Readonly<Record<string, unknown>> = {},
  ) {}
  backward(layer: LayerRecord, relevance: Tensor): (Tensor | null)[] {
    return this.fn(layer, relevance);
  }
}
