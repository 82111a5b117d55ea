/**
 * Facts about storages that only their owners know: which ones hold a model's persistent state
 * (parameters and buffers, declared by `Module`), and how often a storage was written in place
 * (declared by whoever wrote it: the optimizers, gradcheck's perturbations, a user editing a
 * weight). Tensors are otherwise immutable, so these two facts are all the parameter cache, the
 * zero marks and a recording's staleness check need; each decides for itself what follows.
 *
 * Keyed by storage, so a parameter's detached copies and reshaped views share its facts.
 */

/** A tensor's storage (typed loosely so that this file imports nothing and sits below tensor.ts). */
type Storage = object;
interface Tensor {
  readonly data: Storage;
}

const modelState = new WeakSet<Storage>();
const writes = new WeakMap<Storage, number>();

/** Declares `t` a parameter or buffer of a model: it lives as long as the model and may be written in place. */
export function markModelState(t: Tensor): void {
  modelState.add(t.data);
}

export function isModelState(data: Storage): boolean {
  return modelState.has(data);
}

/** Declares that `t.data` was just written in place. Call it after writing `t.data` yourself. */
export function markModified(t: Tensor): void {
  noteWrite(t.data);
}

export function noteWrite(data: Storage): void {
  writes.set(data, (writes.get(data) ?? 0) + 1);
}

/** How often `data` was written in place as far as anyone declared (0: never since it was made). */
export function writeCount(data: Storage): number {
  return writes.get(data) ?? 0;
}
