/** State-dict checking and conversion shared by `Module.loadStateDict`. */
import { Tensor, shapeStr, type DType, type Storage } from '../engine/index.js';
import { DataError, listNames, safeName } from '../engine/errors.js';

export type StateDictLike = Map<string, Tensor> | Readonly<Record<string, Tensor>>;

export class StateDictError extends DataError {
  override name = 'StateDictError';
  constructor(
    message: string,
    readonly missingKeys: readonly string[] = [],
    readonly unexpectedKeys: readonly string[] = [],
    readonly mismatches: readonly string[] = [],
  ) {
    super(message, 'ERR_STATE_DICT');
  }
}

/** As PyTorch's `_IncompatibleKeys` (only non-empty when `strict` is false). */
export interface LoadResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

/** A parameter or buffer slot of `module` (a Module; generic so that this file needs no import of module.ts, which imports it). */
interface Slot<Owner> {
  name: string;
  module: Owner;
  local: string;
  kind: 'parameter' | 'buffer';
  current: Tensor;
}

export interface LoadPlan<Owner> {
  assignments: { module: Owner; local: string; kind: 'parameter' | 'buffer'; value: Tensor }[];
  result: LoadResult;
}

function entries(dict: StateDictLike): [string, Tensor][] {
  return dict instanceof Map ? [...dict] : Object.entries(dict);
}

/**
 * A new leaf holding a copy of `src`'s values in `dtype` (integer targets must receive integral
 * values). TypedArray.set is one bulk copy, or one native conversion pass (float32 -> float64),
 * never a JavaScript loop per element.
 */
export function convertCopy(src: Tensor, dtype: DType): Tensor {
  const data = allocStorage(dtype, src.size);
  data.set(src.data);
  return new Tensor(data, src.shape);
}

/** All values integral (int32 targets refuse anything else); a plain loop, no array of numbers made. */
function allIntegral(data: Tensor['data']): boolean {
  if (data instanceof Int32Array) return true;
  for (let i = 0; i < data.length; i++) if (!Number.isInteger(data[i])) return false;
  return true;
}

export function allocStorage(dtype: DType, n: number): Storage {
  return dtype === 'float32' ? new Float32Array(n) : dtype === 'float64' ? new Float64Array(n) : new Int32Array(n);
}

/** Optional keys: PyTorch fills a missing `num_batches_tracked` when the dict has no version metadata. */
function optionalKey(slot: Slot<unknown>): boolean {
  return slot.kind === 'buffer' && slot.local === 'num_batches_tracked';
}

/**
 * `assign` (as PyTorch's `load_state_dict(..., assign=True)`): a value already of the slot's dtype
 * becomes the new leaf's storage instead of being copied, so the dict must not be used otherwise
 * afterwards (an optimizer step writes into it). A storage is adopted once per load: a second slot
 * given the same storage (tied entries) gets a copy, so no two parameters share memory.
 */
export function planLoad<Owner>(slots: Slot<Owner>[], dict: StateDictLike, strict: boolean, assign = false): LoadPlan<Owner> {
  const adopted = new Set<Tensor['data']>();
  const given = new Map(entries(dict));
  const missing: string[] = [];
  const mismatches: string[] = [];
  const assignments: LoadPlan<Owner>['assignments'] = [];
  const known = new Set<string>();
  for (const slot of slots) {
    known.add(slot.name);
    const v = given.get(slot.name);
    if (v === undefined) {
      if (!optionalKey(slot)) missing.push(slot.name);
      continue;
    }
    if (!(v instanceof Tensor)) {
      mismatches.push(`${slot.name}: expected a Tensor, got ${typeof v}`);
      continue;
    }
    const cur = slot.current;
    if (v.shape.length !== cur.shape.length || v.shape.some((d, i) => d !== cur.shape[i])) {
      mismatches.push(`${slot.name}: expected ${shapeStr(cur.shape)}, got ${shapeStr(v.shape)}`);
      continue;
    }
    if (cur.dtype === 'int32' && !allIntegral(v.data)) {
      mismatches.push(`${slot.name}: expected integer values, got non-integral ${v.dtype} values`);
      continue;
    }
    const adopt = assign && v.dtype === cur.dtype && !adopted.has(v.data);
    if (adopt) adopted.add(v.data);
    const value = adopt ? new Tensor(v.data, v.shape) : convertCopy(v, cur.dtype);
    assignments.push({ module: slot.module, local: slot.local, kind: slot.kind, value });
  }
  const unexpected = [...given.keys()].filter((k) => !known.has(k));
  const problems: string[] = [];
  if (strict && missing.length) problems.push(`Missing key(s) (${missing.length}): ${listNames(missing, 20)}`);
  if (strict && unexpected.length) problems.push(`Unexpected key(s) (${unexpected.length}): ${listNames(unexpected, 20)}`);
  if (mismatches.length) problems.push(`Shape mismatch(es) (${mismatches.length}):\n  ${mismatches.slice(0, 20).map((m) => safeName(m, 200)).join('\n  ')}${mismatches.length > 20 ? `\n  and ${mismatches.length - 20} more` : ''}`);
  if (problems.length) {
    throw new StateDictError(`Error(s) in loading state dict:\n${problems.join('\n')}`, strict ? missing : [], strict ? unexpected : [], mismatches);
  }
  return { assignments, result: { missingKeys: missing, unexpectedKeys: unexpected } };
}
