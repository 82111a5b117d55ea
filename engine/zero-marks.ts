/**
 * Storages known to hold only zeros, so that the LRP shortcuts (a rule skipping the VJP of an
 * all-zero term, conv2d of a zero input being its bias, `x + 0` sharing `x`) test them without
 * rescanning. An op marks its fresh output; the mark holds because op outputs are never written
 * again, and it is ignored once the storage was declared written or became a parameter or buffer
 * (model-state.ts), since those may change under it.
 */
import { isModelState, writeCount } from './model-state.js';

/** A tensor as far as zeros go (typed structurally so that this file sits below tensor.ts). */
interface Tensor {
  readonly data: ArrayLike<number> & object;
}

const zeroStorages = new WeakSet<object>();

/** Marks an op's fresh output as all zeros, so later zero tests on it (and its views) cost nothing. */
export function markAllZero<T extends Tensor>(t: T): T {
  zeroStorages.add(t.data);
  return t;
}

/** Every element is +0 or -0: known from the op that made it, or found by a scan. */
export function isAllZero(t: Tensor): boolean {
  const d = t.data;
  if (zeroStorages.has(d) && writeCount(d) === 0 && !isModelState(d)) return true;
  for (let i = 0; i < d.length; i++) if (d[i] !== 0) return false;
  return true;
}
