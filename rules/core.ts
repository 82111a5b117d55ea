import { InternalError } from '../engine/errors.js';
import type { LayerRecord, Tensor } from '../engine/index.js';

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
  /**
   * A description that determines `modify` completely (equal keys, equal functions). With it, an
   * ordinary explanation keeps only the modified parameter in the parameter cache, not the ops
   * that compute it (engine `memoDerived`); a recorded backward (createGraph) records those ops.
   */
  cacheKey?: string;
}

export interface RuleTerm {
  input: (x: Tensor) => Tensor;
  params: ParamModifier;
  output?: (y: Tensor) => Tensor;
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

/**
 * The null rule: the layer keeps its plain gradient (its own recorded VJP). A rule object so that
 * a composite can assign it, e.g. to exempt one layer from a preset; the resolver
 * (attribution/resolver.ts) turns it into "no rule" before the backward, so it is never called.
 */
export class GradientRule implements Rule {
  readonly name = 'Gradient';
  readonly settings: Readonly<Record<string, unknown>> = {};
  backward(layer: LayerRecord): never {
    throw new InternalError(`the plain-gradient rule was called for layer '${layer.name}': a rule resolver must map it to the layer's own VJP`);
  }
}

/** True for the null rule (and for no rule): the layer runs its plain VJP. */
export function isPlainGradient(rule: Rule | null | undefined): boolean {
  return rule === null || rule === undefined || rule instanceof GradientRule;
}
