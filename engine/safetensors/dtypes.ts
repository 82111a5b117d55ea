export type SafetensorsDType = 'F16' | 'BF16' | 'F32' | 'F64' | 'I8' | 'I16' | 'I32' | 'I64' | 'U8' | 'U16' | 'BOOL';

export type RawData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint16Array;

export interface RawTensor {
  dtype: SafetensorsDType;
  shape: number[];
  data: RawData;
}

export interface DTypeInfo {
  /** Bytes per element in the file. */
  itemsize: number;
  /** Name of the in-memory typed array, compared via Symbol.toStringTag so that
   * subclasses (Node's Buffer) and arrays from other realms are accepted. */
  arrayTag: string;
}

// Half-precision types widen to Float32Array because JS (Node 20) has no
// Float16Array; f16 -> f32 is exact, so round trips through it lose nothing.
export const DTYPES: Readonly<Record<SafetensorsDType, DTypeInfo>> = Object.freeze({
  F16: { itemsize: 2, arrayTag: 'Float32Array' },
  BF16: { itemsize: 2, arrayTag: 'Float32Array' },
  F32: { itemsize: 4, arrayTag: 'Float32Array' },
  F64: { itemsize: 8, arrayTag: 'Float64Array' },
  I8: { itemsize: 1, arrayTag: 'Int8Array' },
  I16: { itemsize: 2, arrayTag: 'Int16Array' },
  I32: { itemsize: 4, arrayTag: 'Int32Array' },
  I64: { itemsize: 8, arrayTag: 'BigInt64Array' },
  U8: { itemsize: 1, arrayTag: 'Uint8Array' },
  U16: { itemsize: 2, arrayTag: 'Uint16Array' },
  BOOL: { itemsize: 1, arrayTag: 'Uint8Array' },
});

export function isDType(name: unknown): name is SafetensorsDType {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(DTYPES, name);
}

export function arrayTag(value: unknown): string | undefined {
  if (!ArrayBuffer.isView(value) || value instanceof DataView) return undefined;
  return (value as unknown as { [Symbol.toStringTag]: string })[Symbol.toStringTag];
}

export const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The file is little-endian; typed arrays use host order. A no-op on every
 * mainstream host, kept so a big-endian host reads correct values rather than garbage. */
export function toHostOrder(bytes: Uint8Array, itemsize: number): void {
  if (HOST_LITTLE_ENDIAN || itemsize === 1) return;
  for (let i = 0; i + itemsize <= bytes.length; i += itemsize) bytes.subarray(i, i + itemsize).reverse();
}
export const toFileOrder = toHostOrder;

/** Bit-level (not value-level) conversion so NaN payloads survive a round trip. */
export function f16BitsToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  let mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0;
  if (exp !== 0) return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
  if (mant === 0) return sign >>> 0;
  // Subnormal half: renormalise, since every half subnormal is a normal f32.
  let e = 113;
  while ((mant & 0x400) === 0) {
    mant <<= 1;
    e--;
  }
  return (sign | (e << 23) | ((mant & 0x3ff) << 13)) >>> 0;
}

/** Round-to-nearest-even, matching numpy/torch `.half()`. */
export function f32BitsToF16Bits(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) {
    // A NaN whose payload lives only in the low 13 bits must not collapse to Inf.
    return sign | 0x7c00 | (mant === 0 ? 0 : (mant >>> 13) || 0x200);
  }
  const e = exp - 112;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    const shift = 14 - e;
    if (shift > 24) return sign;
    const full = mant | 0x800000;
    let m = full >>> shift;
    const rem = full & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (m & 1) === 1)) m++;
    // m === 0x400 is exactly the smallest normal's bit pattern, so no special case.
    return sign | m;
  }
  let h = sign | (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // Carry out of the mantissa correctly bumps the exponent, up to Inf.
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1) === 1)) h++;
  return h;
}

export function bf16BitsToF32Bits(h: number): number {
  return (h << 16) >>> 0;
}

export function f32BitsToBf16Bits(x: number): number {
  if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0) {
    const top = (x >>> 16) & 0xffff;
    return (top & 0x7f) === 0 ? top | 0x40 : top;
  }
  // Plain arithmetic, not `|0`, because x + bias can exceed 2^31.
  return Math.floor((x + 0x7fff + ((x >>> 16) & 1)) / 0x10000) & 0xffff;
}
