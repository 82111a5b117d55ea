/**
 * State dicts to and from safetensors bytes (files: `readStateDictFile` / `writeStateDictFile` in
 * `lrp-tape/node`). F32 -> float32, F64 -> float64, F16/BF16 -> float32
 * (exact widening), integer dtypes -> int32 (I64 values must fit in int32). Saving writes float32
 * as F32, float64 as F64 and int32 as I64 (PyTorch's integer buffers such as
 * `num_batches_tracked` are int64).
 */
import { Tensor, DTypeError } from '../engine/index.js';
import { parseSafetensors, serializeSafetensors, type RawTensor } from '../engine/safetensors.js';
import type { Module } from './module.js';

function toInt32(raw: RawTensor, name: string): Int32Array {
  const src = raw.data;
  const out = new Int32Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const v = src[i]!;
    const n = typeof v === 'bigint' ? Number(v) : v;
    if (typeof v === 'bigint' ? v > 2147483647n || v < -2147483648n : !Number.isInteger(n) || n > 2147483647 || n < -2147483648) {
      throw new DTypeError(`tensor '${name}': ${raw.dtype} value ${v} at position ${i} does not fit in int32`);
    }
    out[i] = n;
  }
  return out;
}

/** One safetensors tensor as an engine tensor (always a copy, never a view of `raw.data`). */
export function rawToTensor(raw: RawTensor, name = '<tensor>'): Tensor {
  return adoptRaw(raw, name, true);
}

/**
 * `raw.data` as a tensor's storage: the array itself where its type is the engine's (F32, F64,
 * I32, and F16/BF16, which the parser already widened), unless `copy`; the other integer dtypes
 * are converted to int32. A copy is one bulk slice, never a loop per element.
 */
function adoptRaw(raw: RawTensor, name: string, copy: boolean): Tensor {
  switch (raw.dtype) {
    case 'F64':
    case 'F32':
    case 'F16':
    case 'BF16':
    case 'I32': {
      const data = raw.data as Float64Array | Float32Array | Int32Array;
      return new Tensor(copy ? data.slice() : data, raw.shape);
    }
    case 'I64':
    case 'I16':
    case 'I8':
    case 'U16':
    case 'U8':
    case 'BOOL':
      return new Tensor(toInt32(raw, name), raw.shape);
    default:
      throw new DTypeError(`tensor '${name}': unsupported safetensors dtype ${String(raw.dtype)}`);
  }
}

export function tensorToRaw(t: Tensor): RawTensor {
  const shape = [...t.shape];
  // slice(): one bulk copy (Float32Array.from walks the elements one by one).
  if (t.dtype === 'float32' || t.dtype === 'float64') return { dtype: t.dtype === 'float32' ? 'F32' : 'F64', shape, data: t.data.slice() };
  return { dtype: 'I64', shape, data: BigInt64Array.from(t.data as Int32Array, (v) => BigInt(v)) };
}

export interface LoadStateOptions {
  /** Keep only keys with this prefix and strip it (e.g. 'param/' for the reference cases). */
  prefix?: string;
  /** Name for error messages when `src` is bytes. */
  source?: string;
  /**
   * The bytes are handed over: the tensors may be views into them rather than copies (see
   * `parseSafetensors`' `shareBytes`); do not write into the bytes afterwards. Default false:
   * every tensor is copied once (one bulk copy each).
   */
  shareBytes?: boolean;
}

/** Parses safetensors bytes into a state dict (file order). */
export function loadSafetensorsStateDict(bytes: Uint8Array, opts: LoadStateOptions = {}): Map<string, Tensor> {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(
      `loadSafetensorsStateDict takes the file's bytes (a Uint8Array), got ${typeof bytes === 'string' ? `the string '${String(bytes).slice(0, 80)}'` : typeof bytes}; ` +
        "to read a path, use readStateDictFile from 'lrp-tape/node'",
    );
  }
  const file = parseSafetensors(bytes, opts.source, { shareBytes: opts.shareBytes === true });
  const prefix = opts.prefix ?? '';
  const out = new Map<string, Tensor>();
  for (const [name, raw] of file.tensors) {
    if (!name.startsWith(prefix)) continue;
    // The parser's arrays are ours already (copies, or views of bytes handed over): no second copy.
    out.set(name.slice(prefix.length), adoptRaw(raw, name, false));
  }
  return out;
}

/** `module.stateDict()` (or a given dict) as safetensors bytes, with optional string metadata. */
export function serializeStateDict(module: Module | Map<string, Tensor>, metadata?: Record<string, string>, source?: string): Uint8Array {
  const dict = module instanceof Map ? module : module.stateDict();
  const raw = new Map<string, RawTensor>();
  for (const [k, t] of dict) raw.set(k, tensorToRaw(t));
  return serializeSafetensors(raw, metadata, source);
}
