import { SafetensorsError, BUFFER_SOURCE, describe } from './errors.js';
import {
  DTYPES,
  isDType,
  arrayTag,
  toFileOrder,
  f32BitsToF16Bits,
  f32BitsToBf16Bits,
  type RawData,
  type RawTensor,
  type SafetensorsDType,
} from './dtypes.js';
import { checkedElementCount } from './shape.js';

export type TensorCollection = Map<string, RawTensor> | Record<string, RawTensor>;

interface Planned {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  bytes: Uint8Array;
}

/**
 * Output is canonical so that serialize(parse(serialize(x))) is byte-identical:
 * tensors in code-point (= UTF-8 byte) name order, metadata keys sorted and
 * omitted when empty (parse cannot tell absent from empty), compact JSON padded
 * with spaces so the data buffer starts 8-byte aligned. The Rust/Python library
 * additionally groups by dtype first; that only changes order, and readers go
 * by data_offsets, so files stay interchangeable.
 */
export function serializeSafetensors(
  tensors: TensorCollection,
  metadata?: Record<string, string>,
  source: string = BUFFER_SOURCE,
): Uint8Array {
  const planned = collect(tensors, source).map((t) => plan(t[0], t[1], source));
  planned.sort((a, b) => compareCodePoints(a.name, b.name));

  const parts: string[] = [];
  if (metadata !== undefined) {
    const json = metadataJson(metadata, source);
    if (json !== '{}') parts.push(`"__metadata__":${json}`);
  }
  let offset = 0;
  for (const t of planned) {
    const end = offset + t.bytes.length;
    parts.push(`${JSON.stringify(t.name)}:{"dtype":"${t.dtype}","shape":[${t.shape.join(',')}],"data_offsets":[${offset},${end}]}`);
    offset = end;
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const padded = Math.ceil(json.length / 8) * 8;

  let out: Uint8Array;
  try {
    out = new Uint8Array(8 + padded + offset);
  } catch (cause) {
    throw new SafetensorsError(source, `cannot allocate ${8 + padded + offset} bytes for the serialised file`, undefined, { cause });
  }
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + padded);
  let at = 8 + padded;
  for (const t of planned) {
    out.set(t.bytes, at);
    at += t.bytes.length;
  }
  return out;
}

function collect(tensors: TensorCollection, source: string): Array<[string, unknown]> {
  if (tensors instanceof Map) {
    const out: Array<[string, unknown]> = [];
    for (const [name, t] of tensors as Map<unknown, unknown>) {
      if (typeof name !== 'string') throw new SafetensorsError(source, `tensor names must be strings, got ${describe(name)}`);
      out.push([name, t]);
    }
    return out;
  }
  if (typeof tensors !== 'object' || tensors === null) {
    throw new SafetensorsError(source, `expected a Map or object of tensors, got ${describe(tensors)}`);
  }
  return Object.entries(tensors);
}

function plan(name: string, tensor: unknown, source: string): Planned {
  if (name === '__metadata__') throw new SafetensorsError(source, `'__metadata__' is reserved and cannot name a tensor`);
  if (typeof tensor !== 'object' || tensor === null) {
    throw new SafetensorsError(source, `is ${describe(tensor)}, expected { dtype, shape, data }`, name);
  }
  const { dtype, shape, data } = tensor as Partial<RawTensor>;
  if (!isDType(dtype)) {
    throw new SafetensorsError(source, `has unknown dtype ${describe(dtype)} (supported: ${Object.keys(DTYPES).join(', ')})`, name);
  }
  const count = checkedElementCount(shape, source, name);
  const want = DTYPES[dtype].arrayTag;
  const got = arrayTag(data);
  if (got !== want) {
    throw new SafetensorsError(source, `has dtype ${dtype}, which needs a ${want}, but data is ${got ?? describe(data)}`, name);
  }
  const array = data as RawData;
  if (array.length !== count) {
    throw new SafetensorsError(source, `has ${array.length} elements but shape [${(shape as number[]).join(',')}] needs ${count}`, name);
  }
  return { name, dtype, shape: (shape as number[]).slice(), bytes: encodeData(dtype, array) };
}

function encodeData(dtype: SafetensorsDType, data: RawData): Uint8Array {
  if (dtype === 'F16' || dtype === 'BF16') {
    const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
    const narrow = dtype === 'F16' ? f32BitsToF16Bits : f32BitsToBf16Bits;
    const halves = new Uint16Array(data.length);
    for (let i = 0; i < bits.length; i++) halves[i] = narrow(bits[i]!);
    const bytes = new Uint8Array(halves.buffer);
    toFileOrder(bytes, 2);
    return bytes;
  }
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  toFileOrder(bytes, DTYPES[dtype].itemsize);
  return bytes;
}

function metadataJson(metadata: unknown, source: string): string {
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    throw new SafetensorsError(source, `__metadata__ must be an object mapping strings to strings, got ${describe(metadata)}`);
  }
  const keys = Object.keys(metadata).sort(compareCodePoints);
  const fields = keys.map((k) => {
    const v = (metadata as Record<string, unknown>)[k];
    if (typeof v !== 'string') throw new SafetensorsError(source, `__metadata__ entry '${k}' must be a string, got ${describe(v)}`);
    return `${JSON.stringify(k)}:${JSON.stringify(v)}`;
  });
  return `{${fields.join(',')}}`;
}

/** Default string comparison is by UTF-16 unit, which puts U+10000.. before
 * U+E000..U+FFFF; shifting the ranges yields code-point (= UTF-8 byte) order. */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = rank(a.charCodeAt(i));
    const y = rank(b.charCodeAt(i));
    if (x !== y) return x - y;
  }
  return a.length - b.length;
}

function rank(unit: number): number {
  if (unit >= 0xe000) return unit - 0x800;
  if (unit >= 0xd800) return unit + 0x2000;
  return unit;
}
