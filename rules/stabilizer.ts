import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import { stabilizerArg } from './args.js';

export interface StabilizerOptions {
  epsilon?: number;
  /** Instead of shifting, clip |x| from below at epsilon (keeping the sign, +1 at 0). */
  clip?: boolean;
  /** Scale epsilon by the root mean square of x over `dim` (all but the batch dim by default). */
  normScale?: boolean;
  dim?: number[];
  /**
   * true (zennit, the default): x + eps * sign(x). false (LXT, AttnLRP): x + eps, without the sign,
   * so the result can cross zero; both conventions are first-class.
   */
  signed?: boolean;
}

/** A number (epsilon), a function x -> stabilised x, or zennit's Stabilizer options. */
export type StabilizerLike = number | ((x: Tensor) => Tensor) | StabilizerOptions;
export type StabilizerFn = ((x: Tensor) => Tensor) & {
  /** Present when the stabiliser is zennit's plain x + eps * sign(x) with this eps: then r / stab(y) is one fused op. */
  readonly plainShift?: number;
};

/**
 * zennit's `stabilize`: x + eps * s(x) with s = +1 for x >= 0 (zero counts as positive) and -1 below.
 * The sign is a constant mask, so the stabiliser is differentiable everywhere away from 0.
 */
export function stabilize(x: Tensor, opts: StabilizerOptions = {}): Tensor {
  const epsilon = opts.epsilon ?? 1e-6;
  if (opts.signed === false && opts.clip) throw new E.ArgumentError('stabilize: clip keeps the sign, so it cannot be combined with signed: false');
  if (opts.signed === false && !opts.normScale) return E.add(x, epsilon);
  if (!opts.normScale && !opts.clip) return E.stabilizeShift(x, epsilon);
  const sign = opts.signed === false ? 1 : E.add(E.eq(x, 0), E.sign(x));
  let eps: Tensor | number = epsilon;
  if (opts.normScale) {
    const dims = opts.dim ?? [...Array(x.ndim).keys()].slice(1);
    eps = E.mul(E.sqrt(E.mean(E.mul(x, x), dims, true)), epsilon);
  }
  if (opts.clip) return E.mul(sign, typeof eps === 'number' ? E.clamp(E.abs(x), eps) : E.maximum(E.abs(x), eps));
  return E.add(x, E.mul(sign, eps));
}

function shiftBy(epsilon: number): StabilizerFn {
  return Object.assign((x: Tensor) => stabilize(x, { epsilon }), { plainShift: epsilon });
}

/**
 * r / stab(y): in one op (`stabilizedDiv`) when `stab` is a plain shift, otherwise as written. Same
 * shapes only; broadcasting falls back to the two ops.
 */
export function divideStabilized(stab: StabilizerFn, r: Tensor, y: Tensor): Tensor {
  const eps = stab.plainShift;
  const same = r.ndim === y.ndim && r.shape.every((d, i) => d === y.shape[i]) && r.dtype === y.dtype;
  return eps !== undefined && same ? E.stabilizedDiv(r, y, eps) : E.div(r, stab(y));
}

export function makeStabilizer(s: StabilizerLike | undefined, what = 'stabilizer'): StabilizerFn {
  if (s === undefined) return shiftBy(1e-6);
  stabilizerArg('stabilizer', what, s);
  if (typeof s === 'number') return shiftBy(s);
  if (typeof s === 'function') return s;
  return (x) => stabilize(x, s);
}
