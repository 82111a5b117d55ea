/**
 * The parameter cache: values computed only from parameters, buffers and constants (merged
 * batch-norm weights, a rule's clamped or shifted weights, zeroed biases...) are reused by every
 * later forward and backward of the same model instead of being computed again.
 *
 * Why: explaining many inputs with one model recomputes the same weight-derived tensors for every
 * input. For ResNet-18 with the ResNet canonizer and EpsilonPlusFlat these are ~135 MB of fresh
 * arrays per explanation, and on the virtual machines this project runs on, touching fresh memory
 * costs 10+ us per page: more than the arithmetic.
 *
 * How it stays exact: tensors are immutable, so an op applied to the same inputs gives the same
 * values. Inputs are identified by their storage (the typed array, which `detach()` and reshape
 * views share) and shape. Parameters are the one thing written in place (`optimizer.step()`, and
 * users perturbing a weight for a finite-difference check or editing it by hand): every use of a
 * root compares its contents bit for bit with a copy taken when its cached values were computed,
 * and a mismatch drops them all; a write declared with `markModified` (model-state.ts) drops them
 * without the comparison. The kernel backend is part of the key (the TypeScript and WebAssembly kernels may differ
 * in the last bit). A hit still records a graph node like any op, so gradients and double backward
 * are unaffected; only the forward kernel is skipped and the output shares the cached storage.
 *
 * Nobody asks for a value to be cached: the cache decides from what a tensor is. Roots are the
 * storages of model state (the parameters and buffers `Module` declares in model-state.ts) and
 * scalar constants; an op's output is cached when every input is a root or a cached value, so
 * inputs, activations and gradients never are.
 */
import { Tensor, type Storage, type Shape } from './tensor.js';
import { getKernelBackend } from './kernels/dispatch.js';
import { isModelState, noteWrite, writeCount } from './model-state.js';

let nextKeyId = 1;

/** The identity of one cached value: the values derived from it hang below it. */
class MemoKey {
  readonly id = nextKeyId++;
  readonly entries = new Map<string, MemoEntry>();
  constructor(
    readonly parent: MemoKey | null,
    readonly name: string,
    /** The key of a scalar constant (held forever, so nothing is cached below it). */
    readonly constant = false,
  ) {}
}

interface MemoEntry {
  readonly key: MemoKey;
  readonly data: Storage;
  readonly shape: Shape;
  readonly saved: unknown;
}

/** Above this many distinct ops on one value (e.g. a weight multiplied by ever new scalars) nothing more is cached under it. */
const MAX_ENTRIES_PER_VALUE = 64;
const MAX_CONSTANTS = 4096;

/** A root's current key, the copy of its contents the key's cached values were computed from, and its write count then. */
interface RootState {
  key: MemoKey | null;
  copy: Storage | null;
  writes: number;
}

const roots = new WeakMap<Storage, RootState>();

function rootOf(data: Storage): RootState {
  let r = roots.get(data);
  if (!r) roots.set(data, (r = { key: null, copy: null, writes: 0 }));
  return r;
}

/** An unreported write found by the content check counts as a write from now on. */
function invalidate(data: Storage, r: RootState): void {
  stats.invalidations++;
  r.key = null;
  r.copy = null;
  noteWrite(data);
}

/**
 * The in-place write count of a parameter or buffer (0 for anything else), as recordings compare
 * it (PyTorch's version counter). With `check`, a write nobody reported is looked for: the
 * contents are compared with the copy the cached values came from (when the cache holds one).
 */
export function paramVersion(t: Tensor, check = true): number {
  const r = roots.get(t.data);
  if (check && r && r.key && r.copy && r.writes === writeCount(t.data) && !checkedInScope?.has(t.data) && !sameBits(t.data, r.copy)) invalidate(t.data, r);
  return writeCount(t.data);
}

/** Roots whose contents the cache compared (or copied) inside the innermost `withParamCheckScope`. */
let checkedInScope: WeakSet<Storage> | null = null;

/**
 * Runs `body` (the recording of one forward) so that `paramVersion` does not compare a root's
 * contents again when the cache compared them earlier in the same body. Comparing a ResNet-18's 11M
 * weights takes ~12 ms (memory-bound); an explanation compared them three times: at their first use
 * in the forward, when the recording noted their versions, and when `attribute` checked them.
 * Skipping the second is exact: a write before the forward was found at the first comparison, and
 * a write between the two (model code writing a weight it already used) leaves the contents unlike
 * the copy, so `attribute`'s comparison still finds it and refuses the recording.
 */
export function withParamCheckScope<T>(body: () => T): T {
  const prev = checkedInScope;
  checkedInScope = new WeakSet();
  try {
    return body();
  } finally {
    checkedInScope = prev;
  }
}
/** Keys of derived values (cached op outputs) and of scalar constants. */
const keys = new WeakMap<Storage, MemoKey>();
const constants = new Map<string, MemoKey>();
let enabled = !/^(0|false|off|no)$/i.test(globalThis.process?.env?.LRP_TAPE_PARAM_CACHE ?? '');
const stats = { hits: 0, misses: 0, invalidations: 0, comparisons: 0 };

/** Turns the parameter cache on or off (default on; `LRP_TAPE_PARAM_CACHE=0` starts with it off). Returns the previous setting. */
export function setParamCache(on: boolean): boolean {
  const prev = enabled;
  enabled = on;
  return prev;
}

export function paramCacheEnabled(): boolean {
  return enabled;
}

/**
 * Hits, misses (values computed and cached; views of cached values are neither), roots found
 * changed in place, and comparisons of a root's contents with its copy, since the start (or the
 * last `resetParamCacheStats`).
 */
export function paramCacheStats(): { hits: number; misses: number; invalidations: number; comparisons: number } {
  return { ...stats };
}

export function resetParamCacheStats(): void {
  stats.hits = 0;
  stats.misses = 0;
  stats.invalidations = 0;
  stats.comparisons = 0;
}

/** Drops a cached value, and so everything derived from it. */
function forgetDerived(data: Storage, k: MemoKey): void {
  if (k.parent) k.parent.entries.delete(k.name);
  else for (const [name, c] of constants) if (c === k) constants.delete(name);
  keys.delete(data);
}

/**
 * A cached value stays valid while nobody writes into it: an op output that became a parameter
 * (`module.to(dtype)`'s casts) or that someone declared written is dropped at its next use.
 */
function stillDerived(data: Storage): boolean {
  return writeCount(data) === 0 && !isModelState(data);
}

/** True for the storage of a cached value: never written again, so facts about its contents can be remembered. */
export function isCachedValue(data: Storage): boolean {
  return keys.has(data) && stillDerived(data);
}

/** Scalar constants made from numbers are identified by dtype and value. */
export function markConstant(t: Tensor): void {
  const v = t.data[0]!;
  const name = `${t.dtype}:${Object.is(v, -0) ? '-0' : String(v)}`;
  let k = constants.get(name);
  if (!k) {
    // Bounded: a loop over ever new scalars must not grow it (a fresh key only costs a cache miss).
    if (constants.size >= MAX_CONSTANTS) constants.clear();
    constants.set(name, (k = new MemoKey(null, name, true)));
  }
  keys.set(t.data, k);
}

/** The same bits (so NaN payloads and the sign of zero count), compared as 32-bit words. */
function sameBits(a: Storage, b: Storage): boolean {
  stats.comparisons++;
  if (a.length !== b.length) return false;
  const words = (a.length * a.BYTES_PER_ELEMENT) >> 2;
  const x = new Int32Array(a.buffer, a.byteOffset, words);
  const y = new Int32Array(b.buffer, b.byteOffset, words);
  // Four words per test: a third less time than one per test on the 11M weights of a ResNet-18.
  const n4 = words & ~3;
  for (let i = 0; i < n4; i += 4) {
    if (((x[i]! ^ y[i]!) | (x[i + 1]! ^ y[i + 1]!) | (x[i + 2]! ^ y[i + 2]!) | (x[i + 3]! ^ y[i + 3]!)) !== 0) return false;
  }
  for (let i = n4; i < words; i++) if (x[i] !== y[i]) return false;
  return true;
}

/** A root's key, after checking that its contents are still those its cached values were computed from. */
function rootKey(data: Storage): MemoKey {
  const r = rootOf(data);
  const writes = writeCount(data);
  checkedInScope?.add(data);
  if (r.key && r.copy && r.writes === writes && sameBits(data, r.copy)) return r.key;
  if (r.key && r.writes === writes) invalidate(data, r);
  r.key = new MemoKey(null, '');
  r.copy = data.slice();
  r.writes = writeCount(data);
  return r.key;
}

/** Roots (parameters, buffers) and derived values nobody wrote into; the key of a derived value. */
function derivedKey(data: Storage): MemoKey | undefined {
  const k = keys.get(data);
  if (k && !stillDerived(data)) {
    forgetDerived(data, k);
    return undefined;
  }
  return k;
}

/** Attribute objects of plain numbers, strings, booleans, null and arrays of them; anything else is not cached. */
function attrKey(attrs: unknown): string | null {
  if (attrs === undefined || attrs === null) return '';
  let plain = true;
  const s = JSON.stringify(attrs, (_k, v: unknown) => {
    if (v === undefined) return undefined;
    // -0 and 0 must differ (clamp(x, max = -0) writes -0), and JSON has no infinities.
    if (typeof v === 'number') return Object.is(v, -0) ? '-0' : Number.isFinite(v) ? v : String(v);
    if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
    if (Array.isArray(v) || Object.getPrototypeOf(v) === Object.prototype) return v;
    plain = false;
    return undefined;
  });
  return plain && s !== undefined && s.length <= 1024 ? s : null;
}

/** Where an op's result is (or will be) cached. */
export interface MemoSlot {
  readonly parent: MemoKey;
  readonly name: string;
  readonly hit: MemoEntry | undefined;
}

/** The cache slot of `op(inputs, attrs)`, or null when an input is not cacheable (or the cache is off). */
export function memoSlot(opName: string, inputs: readonly Tensor[], attrs: unknown): MemoSlot | null {
  if (!enabled || inputs.length === 0) return null;
  // Every input must be cacheable before any root's contents are compared.
  for (const t of inputs) if (!isModelState(t.data) && !derivedKey(t.data)) return null;
  const a = attrKey(attrs);
  if (a === null) return null;
  const ks = inputs.map((t) => (isModelState(t.data) ? rootKey(t.data) : keys.get(t.data)!));
  // The value lives as long as the first non-constant input: constants are permanent, and a value
  // hung below one would outlive its model. Ops on constants alone are not worth caching.
  const parent = ks.find((k) => !k.constant);
  if (!parent) return null;
  let name = `${opName}|${getKernelBackend()}|${a}`;
  for (let i = 0; i < inputs.length; i++) name += `|${ks[i]!.id}:${inputs[i]!.shape.join('x')}`;
  let hit = parent.entries.get(name);
  if (hit && !stillDerived(hit.data)) {
    forgetDerived(hit.data, hit.key);
    hit = undefined;
  }
  if (hit) stats.hits++;
  return { parent, name, hit };
}

/** Caches a freshly computed output (not when it shares storage with a cached value, e.g. a view of a root). */
export function memoStore(slot: MemoSlot, output: Tensor, saved: unknown): void {
  if (keys.has(output.data) || isModelState(output.data)) return;
  if (slot.parent.entries.size >= MAX_ENTRIES_PER_VALUE) return;
  stats.misses++;
  const key = new MemoKey(slot.parent, slot.name);
  slot.parent.entries.set(slot.name, { key, data: output.data, shape: output.shape, saved });
  keys.set(output.data, key);
}

/**
 * A value derived from `inputs` by several ops, cached as one: `name` must determine what `compute`
 * does to its inputs (same name, same function). On a miss `compute` runs with the cache off, so
 * only the result is kept, not the steps (an LRP rule's W + gamma * clamp(W, 0) without clamp(W, 0)
 * and gamma * clamp(W, 0): a third of the memory, and one contents check of W instead of two).
 * Only for values nobody differentiates: no graph node is recorded for the steps, so a result that
 * requires grad is returned uncached.
 */
export function memoDerived(name: string, inputs: readonly Tensor[], compute: () => Tensor): Tensor {
  const slot = memoSlot(`derived:${name}`, inputs, undefined);
  if (!slot) return compute();
  if (slot.hit) return memoOutput(slot.hit);
  const prev = enabled;
  enabled = false;
  let output: Tensor;
  try {
    output = compute();
  } finally {
    enabled = prev;
  }
  if (!output.requiresGrad) memoStore(slot, output, undefined);
  return output;
}

/** A new tensor over a cached value's storage. */
export function memoOutput(entry: MemoEntry): Tensor {
  return new Tensor(entry.data, entry.shape);
}
