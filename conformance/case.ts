import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import { parseSafetensors, type SafetensorsFile } from '../engine/safetensors.js';
import { rawToTensor } from '../nn/index.js';
import { DataError } from '../engine/errors.js';

/** One reference case as FORMAT.md describes it. */
export interface CaseSpec {
  name: string;
  dtype: 'float32' | 'float64';
  model: Record<string, unknown>;
  input_shape: number[];
  target: number[];
  composite: null | { name: string; args?: Record<string, unknown>; canonizers?: string[]; layer_map?: unknown; first_map?: unknown };
  attributor: { name: string; n_iter?: number; window?: number | number[]; stride?: number | number[] };
  attr_output?: string;
  egl?: boolean;
  /** "constant": the EGL gradients hold the stored `attr_output` fixed instead of re-deriving it from the output. */
  egl_seed?: string;
  param_relevance?: boolean;
}

export class CaseError extends DataError {
  override name = 'CaseError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'ERR_CASE', options);
  }
}

export interface LoadedCase {
  spec: CaseSpec;
  tensors: Map<string, Tensor>;
  file: string;
}

/** Parses a case file's bytes; `path` names it in errors. */
export function loadCase(bytes: Uint8Array, path: string): LoadedCase {
  const file: SafetensorsFile = parseSafetensors(bytes, path);
  const raw = file.metadata.case;
  if (raw === undefined) throw new CaseError(`${path}: no 'case' entry in __metadata__`);
  let spec: CaseSpec;
  try {
    spec = JSON.parse(raw) as CaseSpec;
  } catch (e) {
    throw new CaseError(`${path}: __metadata__.case is not valid JSON (${(e as Error).message})`);
  }
  if (typeof spec !== 'object' || spec === null || typeof spec.name !== 'string' || typeof spec.model !== 'object') {
    throw new CaseError(`${path}: __metadata__.case lacks 'name' or 'model'`);
  }
  spec.dtype = spec.dtype ?? 'float64';
  if (spec.dtype !== 'float32' && spec.dtype !== 'float64') throw new CaseError(`${path}: unsupported dtype '${String(spec.dtype)}'`);
  const tensors = new Map<string, Tensor>();
  for (const [name, t] of file.tensors) {
    const tensor = rawToTensor(t, name);
    tensors.set(name, tensor.dtype === 'int32' || tensor.dtype === spec.dtype ? tensor : E.cast(tensor, spec.dtype));
  }
  return { spec, tensors, file: path };
}

export function need(c: LoadedCase, name: string): Tensor {
  const t = c.tensors.get(name);
  if (!t) throw new CaseError(`${c.file}: tensor '${name}' is missing`);
  return t;
}

/** FORMAT.md's tolerance: per tensor, relative to the largest expected magnitude. */
export function allowedError(expected: Tensor, dtype: 'float32' | 'float64'): number {
  let m = 0;
  for (let i = 0; i < expected.size; i++) m = Math.max(m, Math.abs(expected.data[i]!));
  return dtype === 'float64' ? 1e-7 * m + 1e-10 : 1e-4 * m + 1e-6;
}

export function maxAbsDiff(actual: Tensor, expected: Tensor): number {
  if (actual.size !== expected.size || actual.shape.some((d, i) => d !== expected.shape[i])) return Infinity;
  let m = 0;
  for (let i = 0; i < actual.size; i++) {
    const d = Math.abs(actual.data[i]! - expected.data[i]!);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}
