import { SafetensorsError, BUFFER_SOURCE, describe } from './errors.js';
import { safeName } from '../errors.js';
import {
  DTYPES,
  isDType,
  toHostOrder,
  f16BitsToF32Bits,
  HOST_LITTLE_ENDIAN,
  type RawData,
  type RawTensor,
  type SafetensorsDType,
} from './dtypes.js';
import { checkedElementCount, shapeText } from './shape.js';

export interface SafetensorsFile {
  tensors: Map<string, RawTensor>;
  metadata: Record<string, string>;
}

/** Same cap as the reference implementation: a larger header is an attack or corruption, not a model. */
export const MAX_HEADER_BYTES = 100_000_000;

const METADATA_KEY = '__metadata__';

interface Entry {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  begin: number;
  end: number;
}

export interface ParseOptions {
  /**
   * The caller hands `bytes` over: tensors may be views into them instead of copies (F32, F64 and
   * the integer dtypes whose offset in the buffer suits their typed array; the rest are copied or,
   * F16/BF16, widened). The caller must not write into `bytes` afterwards, and the whole buffer
   * stays alive while any tensor does. Each tensor views its own byte range (the layout check
   * guarantees the ranges are disjoint), so writing into one never changes another.
   * Default false: every tensor gets its own copy.
   */
  shareBytes?: boolean;
}

export function parseSafetensors(bytes: Uint8Array, source: string = BUFFER_SOURCE, opts: ParseOptions = {}): SafetensorsFile {
  if (!(bytes instanceof Uint8Array)) {
    throw new SafetensorsError(source, `expected a Uint8Array of file bytes, got ${Object.prototype.toString.call(bytes)}`);
  }
  if (bytes.length < 8) {
    throw new SafetensorsError(source, `file is ${bytes.length} bytes, too short for the 8-byte header length prefix`);
  }
  // byteOffset matters: Node Buffers are often views into a shared pool.
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  const available = bytes.length - 8;
  if (headerLength > BigInt(available)) {
    throw new SafetensorsError(source, `header length ${headerLength} exceeds the ${available} bytes after the length prefix (truncated or corrupt file)`);
  }
  if (headerLength > BigInt(MAX_HEADER_BYTES)) {
    throw new SafetensorsError(source, `header length ${headerLength} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  }
  const n = Number(headerLength);
  const header = decodeHeader(bytes.subarray(8, 8 + n), source);
  const data = bytes.subarray(8 + n);

  let metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const name of Object.keys(header)) {
    if (name === METADATA_KEY) metadata = checkMetadata(header[name], source);
    else entries.push(checkEntry(name, header[name], data.length, source));
  }
  checkLayout(entries, data.length, source);

  const share = opts.shareBytes === true;
  const tensors = new Map<string, RawTensor>();
  for (const e of entries) {
    tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data: decodeData(e.dtype, data.subarray(e.begin, e.end), share) });
  }
  return { tensors, metadata };
}

function decodeHeader(raw: Uint8Array, source: string): Record<string, unknown> {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(raw);
  } catch (cause) {
    throw new SafetensorsError(source, `header is not valid UTF-8`, undefined, { cause });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    throw new SafetensorsError(source, `header is not valid JSON (${detail})`, undefined, { cause });
  }
  if (!isPlainObject(parsed)) {
    throw new SafetensorsError(source, `header must be a JSON object, got ${jsonKind(parsed)}`);
  }
  const keys = topLevelKeys(text);
  if (keys.length !== Object.keys(parsed).length) {
    const seen = new Set<string>();
    const dup = keys.find((k) => (seen.has(k) ? true : (seen.add(k), false)));
    throw new SafetensorsError(source, `header names the same entry twice (only one can be used)`, dup);
  }
  return parsed;
}

function checkMetadata(value: unknown, source: string): Record<string, string> {
  if (!isPlainObject(value)) {
    throw new SafetensorsError(source, `__metadata__ must be an object mapping strings to strings, got ${jsonKind(value)}`);
  }
  const out: Record<string, string> = {};
  for (const key of Object.keys(value)) {
    const v = value[key];
    if (typeof v !== 'string') {
      throw new SafetensorsError(source, `__metadata__ entry '${key}' must be a string, got ${jsonKind(v)}`);
    }
    // defineProperty so a key named "__proto__" becomes data, not a prototype swap.
    Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function checkEntry(name: string, info: unknown, bufferLength: number, source: string): Entry {
  if (!isPlainObject(info)) {
    throw new SafetensorsError(source, `has header entry ${jsonKind(info)}, expected an object with dtype, shape and data_offsets`, name);
  }
  for (const field of ['dtype', 'shape', 'data_offsets']) {
    if (!Object.prototype.hasOwnProperty.call(info, field)) {
      throw new SafetensorsError(source, `is missing required field '${field}'`, name);
    }
  }
  const { dtype, shape, data_offsets: offsets } = info;
  if (typeof dtype !== 'string') {
    throw new SafetensorsError(source, `has dtype ${describe(dtype)}, expected a string`, name);
  }
  if (!isDType(dtype)) {
    throw new SafetensorsError(source, `has unknown dtype ${describe(dtype)} (supported: ${Object.keys(DTYPES).join(', ')})`, name);
  }
  const count = checkedElementCount(shape, source, name);
  const dims = shape as number[];
  if (!Array.isArray(offsets) || offsets.length !== 2) {
    throw new SafetensorsError(source, `has data_offsets ${describe(offsets)}, expected [begin, end]`, name);
  }
  const [begin, end] = offsets as unknown[];
  for (const [label, v] of [['begin', begin], ['end', end]] as const) {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
      throw new SafetensorsError(source, `has data_offsets ${label} ${describe(v)}; offsets must be non-negative integers`, name);
    }
  }
  const b = begin as number;
  const e = end as number;
  if (b > e) throw new SafetensorsError(source, `has data_offsets begin ${b} > end ${e}`, name);
  if (e > bufferLength) {
    throw new SafetensorsError(source, `has data_offsets end ${e} past the end of the ${bufferLength}-byte data buffer`, name);
  }
  const { itemsize } = DTYPES[dtype];
  const needed = count * itemsize;
  if (e - b !== needed) {
    const need = Number.isFinite(needed) ? String(needed) : 'more than 2^53';
    throw new SafetensorsError(source, `has ${e - b} bytes but shape ${shapeText(dims)} of ${dtype} needs ${need}`, name);
  }
  return { name, dtype, shape: dims.slice(), begin: b, end: e };
}

/**
 * The reference implementation's layout rule (safetensors' `validate`): sorted by offsets, each
 * tensor starts where the previous one ended (else InvalidOffset: a gap or an overlap) and the last
 * one ends at the end of the buffer (else MetadataIncompleteBuffer: trailing bytes). Bytes that
 * belong to no tensor would otherwise be silently ignored.
 */
function checkLayout(entries: readonly Entry[], bufferLength: number, source: string): void {
  const sorted = [...entries].sort((x, y) => x.begin - y.begin || x.end - y.end);
  let start = 0;
  let previous: Entry | undefined;
  for (const e of sorted) {
    if (e.begin < start && previous) {
      throw new SafetensorsError(source, `bytes [${e.begin}, ${e.end}) overlap tensor '${safeName(previous.name, 80)}' at [${previous.begin}, ${previous.end}) (invalid offset)`, e.name);
    }
    if (e.begin > start) {
      throw new SafetensorsError(source, `starts at byte ${e.begin} but the previous tensor ends at ${start}: ${e.begin - start} bytes belong to no tensor (invalid offset: offsets must be contiguous)`, e.name);
    }
    start = e.end;
    previous = e;
  }
  if (start !== bufferLength) {
    throw new SafetensorsError(source, `the tensors cover ${start} of the ${bufferLength} data bytes: ${bufferLength - start} trailing bytes belong to no tensor (metadata incomplete: the offsets must cover the buffer)`);
  }
}

/**
 * The keys of the header's top-level object in order, duplicates included (JSON.parse keeps the
 * last silently). Runs only on text JSON.parse accepted, so it needs no error handling of its own.
 */
function topLevelKeys(text: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (depth === 1 && expectKey) keys.push(JSON.parse(text.slice(i, j + 1)) as string);
      expectKey = false;
      i = j;
    } else if (c === '{' || c === '[') {
      depth++;
      expectKey = depth === 1 && c === '{';
    } else if (c === '}' || c === ']') {
      depth--;
    } else if (c === ',' && depth === 1) {
      expectKey = true;
    }
  }
  return keys;
}

/**
 * A tensor's bytes as its typed array without per-element work where the host allows it: a view
 * (when shared and aligned) or one bulk copy. Only F16/BF16 need a loop (widening to float32), and
 * a big-endian host a byte swap of a copy.
 */
function decodeData(dtype: SafetensorsDType, raw: Uint8Array, share: boolean): RawData {
  const { itemsize } = DTYPES[dtype];
  const count = raw.length / itemsize;
  if (!HOST_LITTLE_ENDIAN) return decodeSwapped(dtype, raw, count);
  if (dtype === 'F16' || dtype === 'BF16') {
    const halves = raw.byteOffset % 2 === 0 ? new Uint16Array(raw.buffer, raw.byteOffset, count) : new Uint16Array(ownCopy(raw).buffer, 0, count);
    return widenHalves(dtype, halves);
  }
  // A typed array view needs its byte offset to be a multiple of the item size; otherwise (or when
  // the bytes are not ours to keep) one copy into a fresh, zero-offset buffer.
  const aligned = share && raw.byteOffset % itemsize === 0;
  const buffer = aligned ? raw.buffer : ownCopy(raw).buffer;
  const offset = aligned ? raw.byteOffset : 0;
  return typedView(dtype, buffer, offset, count);
}

/** A copy in a fresh buffer. Not raw.slice(): on a Node Buffer that returns a view, not a copy. */
function ownCopy(raw: Uint8Array): Uint8Array {
  return new Uint8Array(raw);
}

function typedView(dtype: Exclude<SafetensorsDType, 'F16' | 'BF16'>, buffer: ArrayBufferLike, offset: number, count: number): RawData {
  switch (dtype) {
    case 'F32': return new Float32Array(buffer, offset, count);
    case 'F64': return new Float64Array(buffer, offset, count);
    case 'I8': return new Int8Array(buffer, offset, count);
    case 'I16': return new Int16Array(buffer, offset, count);
    case 'I32': return new Int32Array(buffer, offset, count);
    case 'I64': return new BigInt64Array(buffer, offset, count);
    // A plain Uint8Array, also when the bytes are a Node Buffer.
    case 'U8':
    case 'BOOL': return new Uint8Array(buffer, offset, count);
    case 'U16': return new Uint16Array(buffer, offset, count);
  }
}

function widenHalves(dtype: 'F16' | 'BF16', halves: Uint16Array): Float32Array {
  const out = new Float32Array(halves.length);
  const bits = new Uint32Array(out.buffer);
  if (dtype === 'BF16') {
    for (let i = 0; i < halves.length; i++) bits[i] = halves[i]! << 16;
  } else {
    for (let i = 0; i < halves.length; i++) bits[i] = f16BitsToF32Bits(halves[i]!);
  }
  return out;
}

/** Big-endian hosts: the file is little-endian, so every multi-byte tensor is a swapped copy. */
function decodeSwapped(dtype: SafetensorsDType, raw: Uint8Array, count: number): RawData {
  const copy = ownCopy(raw);
  toHostOrder(copy, DTYPES[dtype].itemsize);
  if (dtype === 'F16' || dtype === 'BF16') return widenHalves(dtype, new Uint16Array(copy.buffer, 0, count));
  return typedView(dtype, copy.buffer, 0, count);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function jsonKind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${describe(v)}`;
}
