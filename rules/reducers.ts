/**
 * How a `BasicRule` combines its K terms into one relevance. Most LRP rules weight each term's
 * gradient by the term's input, R = sum_k c_k x_k g_k; saying so with `inputTimesGradient` (rather
 * than as an opaque function) lets the rule's backward see that a term whose inputs are all zero
 * (the negative part of a ReLU output) contributes nothing and need not be differentiated.
 */
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';

/** Reduces the K term inputs and their VJPs (null where a term got no gradient) to one relevance. */
export type ReducerFn = (inputs: Tensor[], gradients: (Tensor | null)[]) => Tensor;

/** One signed, scaled sum of x_k * g_k over some terms. */
export interface ProductGroup {
  readonly terms: readonly number[];
  /** Multiplies the group's sum (AlphaBeta's alpha and beta). */
  readonly scale?: number;
  /** Subtracted from the groups before it instead of added (ZBox's bound terms, AlphaBeta's beta part). */
  readonly subtract?: boolean;
}

/** sum over groups of (+/-) scale * sum_{k in group} x_k * g_k, a null gradient counting as zero. */
export class InputTimesGradient {
  constructor(readonly groups: readonly ProductGroup[]) {
    if (groups.length === 0 || groups.some((g) => g.terms.length === 0)) throw new E.ArgumentError('inputTimesGradient: every group needs at least one term');
  }

  reduce(xs: Tensor[], gs: (Tensor | null)[]): Tensor {
    let acc: Tensor | null = null;
    for (const g of this.groups) {
      const part = groupSum(xs, gs, g);
      acc = acc === null ? part : g.subtract ? E.sub(acc, part) : E.add(acc, part);
    }
    return acc!;
  }
}

function groupSum(xs: Tensor[], gs: (Tensor | null)[], g: ProductGroup): Tensor {
  const live = g.terms.filter((k) => gs[k]);
  const sum = live.length ? live.map((k) => E.mul(xs[k]!, gs[k]!)).reduce((a, b) => E.add(a, b)) : E.zerosLike(xs[g.terms[0]!]!);
  return g.scale === undefined ? sum : E.mul(sum, g.scale);
}

/** R = sum_k x_k g_k over the given terms (`inputTimesGradient([0, 1])`), or over signed, scaled groups of them. */
export function inputTimesGradient(...groups: (readonly number[] | ProductGroup)[]): InputTimesGradient {
  return new InputTimesGradient(groups.map((g) => (Array.isArray(g) ? { terms: g as readonly number[] } : (g as ProductGroup))));
}

export type Reducer = ReducerFn | InputTimesGradient;

export function reduce(reducer: Reducer, xs: Tensor[], gs: (Tensor | null)[]): Tensor {
  return reducer instanceof InputTimesGradient ? reducer.reduce(xs, gs) : reducer(xs, gs);
}
