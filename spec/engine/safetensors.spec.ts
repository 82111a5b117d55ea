import { expect } from 'chai';
import fc from 'fast-check';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  SafetensorsError,
  parseSafetensors,
  serializeSafetensors,
  type RawTensor,
  type SafetensorsDType,
} from '../../engine/safetensors.js';
import { readSafetensorsFile, writeSafetensorsFile } from '../../node/index.js';

const FIXTURE = 'spec/fixtures/zennit/mlp-gradient.safetensors';
const SRC = 'model.safetensors';

/** Builds a file from an arbitrary (possibly invalid) header, bypassing the serializer's checks. */
function build(header: unknown, data: Uint8Array = new Uint8Array(0), rawHeader?: Uint8Array): Uint8Array {
  const json = rawHeader ?? new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function headerOf(bytes: Uint8Array): { length: number; text: string } {
  const length = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { length, text: new TextDecoder().decode(bytes.subarray(8, 8 + length)) };
}

function expectError(fn: () => unknown, pattern: RegExp): SafetensorsError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, 'expected a SafetensorsError').to.be.instanceOf(SafetensorsError);
  expect((caught as Error).message).to.match(pattern);
  return caught as SafetensorsError;
}

function f32(bits: number): number {
  return new Float32Array(new Uint32Array([bits]).buffer)[0]!;
}
function bitsOf(a: Float32Array): number[] {
  return Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
}

const everyDType: Record<SafetensorsDType, RawTensor> = {
  F16: { dtype: 'F16', shape: [2, 3], data: new Float32Array([1, -2, 65504, 2 ** -24, -0, Infinity]) },
  BF16: { dtype: 'BF16', shape: [3], data: new Float32Array([1, -3.140625, f32(0x7f7f0000)]) },
  F32: { dtype: 'F32', shape: [2, 2], data: new Float32Array([0.1, -1e30, f32(1), NaN]) },
  F64: { dtype: 'F64', shape: [3], data: new Float64Array([Math.PI, -Number.MAX_VALUE, Number.MIN_VALUE]) },
  I8: { dtype: 'I8', shape: [3], data: new Int8Array([-128, 0, 127]) },
  I16: { dtype: 'I16', shape: [3], data: new Int16Array([-32768, 1, 32767]) },
  I32: { dtype: 'I32', shape: [1, 3], data: new Int32Array([-(2 ** 31), 7, 2 ** 31 - 1]) },
  I64: { dtype: 'I64', shape: [3], data: new BigInt64Array([-(2n ** 63n), 42n, 2n ** 63n - 1n]) },
  U8: { dtype: 'U8', shape: [3], data: new Uint8Array([0, 128, 255]) },
  U16: { dtype: 'U16', shape: [3], data: new Uint16Array([0, 1, 65535]) },
  BOOL: { dtype: 'BOOL', shape: [2], data: new Uint8Array([1, 0]) },
};

describe('safetensors', () => {
  describe('round trip', () => {
    it('preserves every dtype, shape, value and metadata', () => {
      const metadata = { format: 'pt', note: 'ünïcödé ✓ 𝄞', __proto__x: 'y' };
      const parsed = parseSafetensors(serializeSafetensors(everyDType, metadata));
      expect(parsed.metadata).to.deep.equal(metadata);
      expect([...parsed.tensors.keys()].sort()).to.deep.equal(Object.keys(everyDType).sort());
      for (const [name, t] of Object.entries(everyDType)) {
        const got = parsed.tensors.get(name)!;
        expect(got.dtype, name).to.equal(t.dtype);
        expect(got.shape, name).to.deep.equal(t.shape);
        expect(got.data.constructor, name).to.equal(t.data.constructor);
        // Compare bytes so NaN and -0 count as preserved.
        expect(new Uint8Array(got.data.buffer, got.data.byteOffset, got.data.byteLength), name).to.deep.equal(
          new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength),
        );
      }
    });

    it('handles 0-d, empty and no tensors, and accepts a Map', () => {
      const tensors = new Map<string, RawTensor>([
        ['scalar', { dtype: 'F64', shape: [], data: new Float64Array([2.5]) }],
        ['empty', { dtype: 'F32', shape: [0], data: new Float32Array(0) }],
        ['empty2d', { dtype: 'I64', shape: [2, 0, 3], data: new BigInt64Array(0) }],
      ]);
      const parsed = parseSafetensors(serializeSafetensors(tensors));
      expect(parsed.tensors.get('scalar')).to.deep.equal({ dtype: 'F64', shape: [], data: new Float64Array([2.5]) });
      expect(parsed.tensors.get('empty')!.data).to.have.length(0);
      expect(parsed.tensors.get('empty2d')!.shape).to.deep.equal([2, 0, 3]);
      expect(parsed.metadata).to.deep.equal({});

      const none = serializeSafetensors({});
      expect(headerOf(none).text.trimEnd()).to.equal('{}');
      expect(parseSafetensors(none).tensors.size).to.equal(0);
    });

    it('keeps a metadata key named __proto__ as data', () => {
      const metadata: Record<string, string> = {};
      Object.defineProperty(metadata, '__proto__', { value: 'x', enumerable: true });
      const parsed = parseSafetensors(serializeSafetensors({}, metadata));
      expect(Object.getPrototypeOf(parsed.metadata)).to.equal(Object.prototype);
      expect(Object.getOwnPropertyDescriptor(parsed.metadata, '__proto__')?.value).to.equal('x');
    });

    it('rounds F16 and BF16 to nearest even and keeps specials bit-exact', () => {
      const inputs = new Float32Array([1 + 2 ** -11, 1 + 3 * 2 ** -11, 65520, 2 ** -25, 3 * 2 ** -26, 1 + 2 ** -8, 1 + 3 * 2 ** -8]);
      const rt = (dtype: SafetensorsDType) =>
        parseSafetensors(serializeSafetensors({ x: { dtype, shape: [inputs.length], data: inputs } })).tensors.get('x')!.data as Float32Array;
      // 65520 is the halfway point above f16 max and rounds to Inf, as numpy does.
      expect(Array.from(rt('F16'))).to.deep.equal([1, 1 + 2 ** -9, Infinity, 0, 2 ** -24, 1 + 2 ** -8, 1 + 3 * 2 ** -8]);
      expect(Array.from(rt('BF16'))).to.deep.equal([1, 1, 65536, 2 ** -25, 3 * 2 ** -26, 1, 1 + 2 ** -6]);

      const specials = new Float32Array(new Uint32Array([0x7fc00000, 0xffa00000, 0x7f800000, 0xff800000, 0x80000000, 0x7f801000]).buffer);
      const f16 = parseSafetensors(serializeSafetensors({ s: { dtype: 'F16', shape: [6], data: specials } })).tensors.get('s')!.data as Float32Array;
      // The last input's payload sits below the f16 mantissa; it must stay NaN, not become Inf.
      expect(bitsOf(f16)).to.deep.equal([0x7fc00000, 0xffa00000, 0x7f800000, 0xff800000, 0x80000000, 0x7fc00000]);
    });

    it('decodes known half-precision bit patterns', () => {
      const halves = new Uint8Array(new Uint16Array([0x3c00, 0xc000, 0x7bff, 0x0001, 0x03ff, 0x8000, 0x7c00, 0x3555]).buffer);
      const parsed = parseSafetensors(build({ h: { dtype: 'F16', shape: [8], data_offsets: [0, 16] } }, halves));
      expect(Array.from(parsed.tensors.get('h')!.data as Float32Array)).to.deep.equal([1, -2, 65504, 2 ** -24, 1023 * 2 ** -24, -0, Infinity, f32(0x3eaaa000)]);
      const bf = new Uint8Array(new Uint16Array([0x3f80, 0xc049, 0x0001]).buffer);
      const parsedBf = parseSafetensors(build({ b: { dtype: 'BF16', shape: [3], data_offsets: [0, 6] } }, bf));
      expect(bitsOf(parsedBf.tensors.get('b')!.data as Float32Array)).to.deep.equal([0x3f800000, 0xc0490000, 0x00010000]);
    });

    it('reads tensors at offsets unaligned for their typed array', () => {
      const data = new Uint8Array(1 + 8 + 4);
      const view = new DataView(data.buffer);
      data[0] = 7;
      view.setFloat64(1, -1.25, true);
      view.setInt32(9, -123456, true);
      const parsed = parseSafetensors(
        build({
          u: { dtype: 'U8', shape: [1], data_offsets: [0, 1] },
          d: { dtype: 'F64', shape: [1], data_offsets: [1, 9] },
          i: { dtype: 'I32', shape: [], data_offsets: [9, 13] },
        }, data),
      );
      expect(parsed.tensors.get('d')!.data).to.deep.equal(new Float64Array([-1.25]));
      expect(parsed.tensors.get('i')!.data).to.deep.equal(new Int32Array([-123456]));
    });

    it('copies data rather than aliasing the input bytes', () => {
      const bytes = serializeSafetensors({ x: { dtype: 'U8', shape: [2], data: new Uint8Array([1, 2]) } });
      const parsed = parseSafetensors(bytes);
      bytes.fill(0, bytes.length - 2);
      expect(Array.from(parsed.tensors.get('x')!.data as Uint8Array)).to.deep.equal([1, 2]);
    });

    it('parses a Node Buffer that is a view into a larger pool', () => {
      const bytes = serializeSafetensors({ x: { dtype: 'F32', shape: [2], data: new Float32Array([1.5, -2]) } });
      const pool = Buffer.alloc(bytes.length + 3);
      pool.set(bytes, 3);
      const parsed = parseSafetensors(pool.subarray(3));
      expect(parsed.tensors.get('x')!.data).to.deep.equal(new Float32Array([1.5, -2]));
    });
  });

  describe('reference file', () => {
    it(`reads ${FIXTURE}`, () => {
      const file = readSafetensorsFile(FIXTURE);
      const kase = JSON.parse(file.metadata.case!) as { name: string };
      expect(kase.name).to.equal('mlp-gradient');
      const w = file.tensors.get('param/0.weight')!;
      expect(w.dtype).to.equal('F64');
      expect(w.shape).to.deep.equal([20, 12]);
      expect(w.data).to.be.instanceOf(Float64Array).with.length(240);
      // Independent decode of the first element straight from the file bytes.
      const raw = readFileSync(FIXTURE);
      const n = Number(raw.readBigUInt64LE(0));
      expect(w.data[0]).to.equal(raw.readDoubleLE(8 + n));
    });
  });

  describe('serialisation format', () => {
    it('writes the layout the Python library writes', () => {
      const bytes = serializeSafetensors(
        { b: { dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) }, a: { dtype: 'U8', shape: [], data: new Uint8Array([9]) } },
        { k: 'v' },
      );
      const { length, text } = headerOf(bytes);
      const json = '{"__metadata__":{"k":"v"},"a":{"dtype":"U8","shape":[],"data_offsets":[0,1]},"b":{"dtype":"F32","shape":[2],"data_offsets":[1,9]}}';
      expect(length % 8).to.equal(0);
      expect(text).to.equal(json.padEnd(length, ' '));
      expect(Array.from(bytes.subarray(8 + length))).to.deep.equal([9, 0, 0, 0x80, 0x3f, 0, 0, 0, 0x40]);
    });

    it('sorts names by code point, as the byte-wise Rust implementation does', () => {
      const t = (): RawTensor => ({ dtype: 'U8', shape: [0], data: new Uint8Array(0) });
      const names = ['b', '\u{1F600}', 'a', '\uFFFD', 'B', 'aa'];
      const parsed = parseSafetensors(serializeSafetensors(Object.fromEntries(names.map((n) => [n, t()]))));
      expect([...parsed.tensors.keys()]).to.deep.equal(['B', 'a', 'aa', 'b', '\uFFFD', '\u{1F600}']);
    });

    it('is byte-exact under parse then serialise', () => {
      const once = serializeSafetensors(everyDType, { a: '1', z: '2' });
      const parsed = parseSafetensors(once);
      expect(serializeSafetensors(parsed.tensors, parsed.metadata)).to.deep.equal(once);

      const fixture = readSafetensorsFile(FIXTURE);
      const canon = serializeSafetensors(fixture.tensors, fixture.metadata);
      const again = parseSafetensors(canon);
      expect(serializeSafetensors(again.tensors, again.metadata)).to.deep.equal(canon);
      expect(again.metadata).to.deep.equal(fixture.metadata);
      for (const [name, t] of fixture.tensors) expect(again.tensors.get(name), name).to.deep.equal(t);
    });

    it('rejects invalid tensors when serialising', () => {
      const f = new Float32Array(6);
      expectError(() => serializeSafetensors({ w: { dtype: 'F64', shape: [6], data: f } }), /<buffer>: tensor 'w' has dtype F64, which needs a Float64Array, but data is Float32Array/);
      expectError(() => serializeSafetensors({ w: { dtype: 'F32', shape: [2, 2], data: f } }), /tensor 'w' has 6 elements but shape \[2,2\] needs 4/);
      expectError(() => serializeSafetensors({ w: { dtype: 'F8' as SafetensorsDType, shape: [6], data: f } }), /tensor 'w' has unknown dtype "F8"/);
      expectError(() => serializeSafetensors({ w: { dtype: 'F32', shape: [-6], data: f } }), /tensor 'w' has shape entry -6 at index 0/);
      expectError(() => serializeSafetensors({ __metadata__: { dtype: 'F32', shape: [6], data: f } }), /'__metadata__' is reserved/);
      expectError(() => serializeSafetensors({}, { n: 1 as unknown as string }), /__metadata__ entry 'n' must be a string/);
    });
  });

  describe('malformed input', () => {
    const ok = { dtype: 'F32', shape: [2], data_offsets: [0, 8] };
    const eight = new Uint8Array(8);
    const cases: Array<[string, Uint8Array, RegExp]> = [
      ['file shorter than 8 bytes', new Uint8Array(5), /^model\.safetensors: file is 5 bytes, too short for the 8-byte header length prefix$/],
      ['header length past the end', (() => { const b = build({}); b[0] = 100; return b; })(), /^model\.safetensors: header length 100 exceeds the 2 bytes after the length prefix/],
      ['absurd header length', (() => { const b = build({}); b.fill(0xff, 0, 8); return b; })(), /header length 18446744073709551615 exceeds the 2 bytes/],
      ['header not UTF-8', build(null, eight, new Uint8Array([0x7b, 0xff, 0x7d])), /^model\.safetensors: header is not valid UTF-8$/],
      ['header not JSON', build(null, eight, new TextEncoder().encode('{"a":')), /^model\.safetensors: header is not valid JSON \(/],
      ['empty header', build(null, eight, new Uint8Array(0)), /header is not valid JSON/],
      ['header an array', build([ok]), /header must be a JSON object, got an array/],
      ['header null', build(null), /header must be a JSON object, got null/],
      ['header a number', build(3), /header must be a JSON object, got number 3/],
      ['entry not an object', build({ w: [1] }), /tensor 'w' has header entry an array, expected an object/],
      ['entry missing dtype', build({ w: { shape: [2], data_offsets: [0, 8] } }, eight), /tensor 'w' is missing required field 'dtype'/],
      ['entry missing shape', build({ w: { dtype: 'F32', data_offsets: [0, 8] } }, eight), /tensor 'w' is missing required field 'shape'/],
      ['entry missing data_offsets', build({ w: { dtype: 'F32', shape: [2] } }, eight), /tensor 'w' is missing required field 'data_offsets'/],
      ['dtype not a string', build({ w: { ...ok, dtype: 4 } }, eight), /tensor 'w' has dtype 4, expected a string/],
      ['unknown dtype', build({ w: { ...ok, dtype: 'F8_E4M3' } }, eight), /tensor 'w' has unknown dtype "F8_E4M3" \(supported: F16, BF16/],
      ['shape not an array', build({ w: { ...ok, shape: '2' } }, eight), /tensor 'w' has shape "2", expected an array of integers/],
      ['negative shape entry', build({ w: { ...ok, shape: [2, -1] } }, eight), /tensor 'w' has shape entry -1 at index 1; shape entries must be non-negative integers/],
      ['non-integer shape entry', build({ w: { ...ok, shape: [1.5] } }, eight), /tensor 'w' has shape entry 1\.5 at index 0/],
      ['string shape entry', build({ w: { ...ok, shape: ['2'] } }, eight), /tensor 'w' has shape entry "2" at index 0/],
      ['unsafe shape entry', build({ w: { ...ok, shape: [2 ** 60] } }, eight), /tensor 'w' has shape entry 1152921504606847000 at index 0/],
      ['offsets not a pair', build({ w: { ...ok, data_offsets: [0] } }, eight), /tensor 'w' has data_offsets \[0\], expected \[begin, end\]/],
      ['offsets not an array', build({ w: { ...ok, data_offsets: { begin: 0 } } }, eight), /tensor 'w' has data_offsets \{"begin":0\}, expected \[begin, end\]/],
      ['non-integer offset', build({ w: { ...ok, data_offsets: [0.5, 8] } }, eight), /tensor 'w' has data_offsets begin 0\.5; offsets must be non-negative integers/],
      ['negative offset', build({ w: { ...ok, data_offsets: [0, -8] } }, eight), /tensor 'w' has data_offsets end -8/],
      ['string offset', build({ w: { ...ok, data_offsets: ['0', 8] } }, eight), /tensor 'w' has data_offsets begin "0"/],
      ['begin > end', build({ w: { ...ok, data_offsets: [8, 0] } }, eight), /tensor 'w' has data_offsets begin 8 > end 0/],
      ['end past the buffer', build({ w: { ...ok, data_offsets: [0, 64] } }, eight), /tensor 'w' has data_offsets end 64 past the end of the 8-byte data buffer/],
      [
        'overlapping tensors',
        build({ a: ok, b: { ...ok, data_offsets: [4, 12] } }, new Uint8Array(12)),
        /tensor 'b' bytes \[4, 12\) overlap tensor 'a' at \[0, 8\)/,
      ],
      [
        'tensor nested inside another',
        build({ a: { ...ok, shape: [4], data_offsets: [0, 16] }, b: { ...ok, shape: [1], data_offsets: [4, 8] }, c: { ...ok, shape: [1], data_offsets: [8, 12] } }, new Uint8Array(16)),
        /tensor 'b' bytes \[4, 8\) overlap tensor 'a' at \[0, 16\)/,
      ],
      [
        'wrong byte length',
        build({ 'param/0.weight': { dtype: 'F64', shape: [2, 3], data_offsets: [0, 10] } }, new Uint8Array(10)),
        /^model\.safetensors: tensor 'param\/0\.weight' has 10 bytes but shape \[2,3\] of F64 needs 48$/,
      ],
      ['element count overflow', build({ w: { ...ok, shape: [2 ** 40, 2 ** 40] } }, eight), /tensor 'w' has 8 bytes but shape \[1099511627776,1099511627776\] of F32 needs more than 2\^53/],
      ['metadata not an object', build({ __metadata__: ['a'] }), /__metadata__ must be an object mapping strings to strings, got an array/],
      ['metadata value not a string', build({ __metadata__: { k: 1 } }), /__metadata__ entry 'k' must be a string, got number 1/],
      // The reference implementation's layout rule: contiguous offsets covering the whole buffer.
      ['a gap between tensors', build({ a: ok, b: { ...ok, data_offsets: [12, 20] } }, new Uint8Array(20)), /tensor 'b' starts at byte 12 but the previous tensor ends at 8: 4 bytes belong to no tensor \(invalid offset/],
      ['a gap before the first tensor', build({ a: { ...ok, data_offsets: [4, 12] } }, new Uint8Array(12)), /tensor 'a' starts at byte 4 but the previous tensor ends at 0/],
      ['trailing bytes after the last tensor', build({ a: ok }, new Uint8Array(12)), /the tensors cover 8 of the 12 data bytes: 4 trailing bytes belong to no tensor/],
      ['data bytes without any tensor', build({}, eight), /the tensors cover 0 of the 8 data bytes/],
      ['a duplicate tensor name', build(null, new Uint8Array(16), new TextEncoder().encode(`{"a":${JSON.stringify(ok)},"a":${JSON.stringify({ ...ok, data_offsets: [8, 16] })}}`)), /tensor 'a' header names the same entry twice/],
    ];
    for (const [what, bytes, pattern] of cases) {
      it(`rejects ${what}`, () => {
        const err = expectError(() => parseSafetensors(bytes, SRC), pattern);
        expect(err.source).to.equal(SRC);
      });
    }

    it('names the tensor in the error object', () => {
      const err = expectError(() => parseSafetensors(build({ w: { ...ok, dtype: 'X' } }, eight)), /^<buffer>: tensor 'w'/);
      expect(err.tensor).to.equal('w');
    });

    it('accepts space padding, empty tensors sharing offsets, and names with quotes and braces', () => {
      const json = new TextEncoder().encode(JSON.stringify({ a: ok, e: { dtype: 'I64', shape: [0], data_offsets: [8, 8] }, 'b"{,}': { ...ok, data_offsets: [8, 16] }, __metadata__: { 'x"': '{"a":1}' } }) + '    ');
      const parsed = parseSafetensors(build(null, new Uint8Array(16), json));
      expect([...parsed.tensors.keys()]).to.deep.equal(['a', 'e', 'b"{,}']);
    });

    it('rejects a non-Uint8Array argument', () => {
      expectError(() => parseSafetensors('hello' as unknown as Uint8Array), /<buffer>: expected a Uint8Array/);
    });

    it('names the path of an unreadable file', () => {
      expectError(() => readSafetensorsFile('/nonexistent/dir/nope.safetensors'), /^\/nonexistent\/dir\/nope\.safetensors: cannot read file \(ENOENT/);
      expectError(() => readSafetensorsFile('spec'), /^spec: cannot read file \(EISDIR/);
    });

    it('names the path when a file on disk is malformed', () => {
      const dir = mkdtempSync(join(tmpdir(), 'st-bad-'));
      try {
        const path = join(dir, 'bad.safetensors');
        writeFileSync(path, new Uint8Array(3));
        expectError(() => readSafetensorsFile(path), new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: file is 3 bytes`));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('robustness', () => {
    const base = serializeSafetensors(
      {
        a: { dtype: 'F32', shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) },
        b: { dtype: 'I64', shape: [1], data: new BigInt64Array([5n]) },
        c: { dtype: 'F16', shape: [3], data: new Float32Array([1, 0.5, -2]) },
        d: { dtype: 'U8', shape: [], data: new Uint8Array([3]) },
      },
      { k: 'v' },
    );
    const baseHeader = JSON.parse(headerOf(base).text) as Record<string, Record<string, unknown>>;
    const dataOf = (b: Uint8Array) => b.subarray(8 + headerOf(b).length);

    type Corruption = (b: Uint8Array) => Uint8Array;
    // Closures print as their source in counterexamples; a label makes failures readable.
    const named = (label: string, fn: Corruption): Corruption => Object.assign(fn, { [fc.toStringMethod]: () => label });
    const flip = fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })).map(([i, x]) => named(`flip(${i}, ${x})`, (b) => {
      if (b.length === 0) return b;
      const c = b.slice();
      c[i % c.length]! ^= x;
      return c;
    }));
    const truncate = fc.nat().map((n) => named(`truncate(${n})`, (b) => b.slice(0, b.length === 0 ? 0 : n % b.length)));
    const insert = fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 16 })).map(([i, ins]) => named(`insert(${i}, [${ins.join(',')}])`, (b) => {
      const at = b.length === 0 ? 0 : i % (b.length + 1);
      const c = new Uint8Array(b.length + ins.length);
      c.set(b.subarray(0, at));
      c.set(ins, at);
      c.set(b.subarray(at), at + ins.length);
      return c;
    }));
    const setLength = fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.bigInt({ min: 0n, max: 300n })).map((n) => named(`setLength(${n})`, (b) => {
      if (b.length < 8) return b;
      const c = b.slice();
      new DataView(c.buffer).setBigUint64(0, n, true);
      return c;
    }));
    const interesting = fc.oneof(
      fc.jsonValue(),
      fc.constantFrom(-1, 0, 1, 2 ** 53, 2 ** 64, 1e308, -0, 0.5, 'F32', 'BF16', 'BOOL', 'X', '', [], {}, null),
      fc.array(fc.integer({ min: -2, max: 40 }), { maxLength: 4 }),
    );
    const editHeader = fc
      .tuple(fc.constantFrom('a', 'b', 'c', 'd', '__metadata__', 'new'), fc.constantFrom('dtype', 'shape', 'data_offsets', 'k', '*'), interesting)
      .map(([key, field, value]) => named(`edit(${key}.${field} = ${JSON.stringify(value)})`, () => {
        const h = structuredClone(baseHeader) as Record<string, unknown>;
        if (field === '*') h[key] = value;
        else h[key] = { ...(h[key] as object | undefined), [field]: value };
        return build(h, dataOf(base));
      }));
    const corruption = fc.oneof(flip, truncate, insert, setLength, editHeader);

    function check(bytes: Uint8Array): void {
      let parsed;
      try {
        parsed = parseSafetensors(bytes);
      } catch (e) {
        if (!(e instanceof SafetensorsError)) throw e;
        expect(e.message.startsWith('<buffer>: ')).to.equal(true);
        return;
      }
      // Whatever parsed must be internally consistent.
      for (const t of parsed.tensors.values()) {
        expect(t.data.length).to.equal(t.shape.reduce((p, d) => p * d, 1));
      }
    }

    it('only ever throws SafetensorsError for corrupted files', () => {
      fc.assert(
        fc.property(fc.array(corruption, { minLength: 1, maxLength: 4 }), (cs) => {
          check(cs.reduce((b, c) => c(b), base));
        }),
        { numRuns: 2000 },
      );
    });

    it('only ever throws SafetensorsError for arbitrary bytes and headers', () => {
      fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), check), { numRuns: 500 });
      fc.assert(fc.property(fc.jsonValue(), fc.uint8Array({ maxLength: 32 }), (h, d) => check(build(h, d))), { numRuns: 500 });
    });

    it('handles a hostile many-dimension shape quickly', () => {
      const shape = new Array<number>(100_000).fill(2 ** 52);
      const started = Date.now();
      expectError(() => parseSafetensors(build({ w: { dtype: 'F32', shape, data_offsets: [0, 0] } })), /needs more than 2\^53/);
      expect(Date.now() - started).to.be.below(1000);
    });
  });

  describe('file writing', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'st-write-'));
    });
    afterEach(() => {
      rmSync(dir, { recursive: true, force: true });
    });

    it('writes atomically and leaves no temporary files', () => {
      const path = join(dir, 'ok.safetensors');
      writeSafetensorsFile(path, everyDType, { k: 'v' });
      writeSafetensorsFile(path, { x: everyDType.F64! });
      expect(readdirSync(dir)).to.deep.equal(['ok.safetensors']);
      const back = readSafetensorsFile(path);
      expect([...back.tensors.keys()]).to.deep.equal(['x']);
      expect(readFileSync(path)).to.deep.equal(Buffer.from(serializeSafetensors({ x: everyDType.F64! })));
    });

    it('throws SafetensorsError and leaves nothing for a missing directory', () => {
      const path = join(dir, 'missing', 'x.safetensors');
      expectError(() => writeSafetensorsFile(path, everyDType), /missing\/x\.safetensors: cannot write file \(ENOENT/);
      expect(readdirSync(dir)).to.deep.equal([]);
    });

    it('cleans up the temporary file when the final rename fails', () => {
      const target = join(dir, 'taken');
      mkdirSync(join(target, 'child'), { recursive: true });
      expectError(() => writeSafetensorsFile(target, everyDType), /taken: cannot write file/);
      expect(readdirSync(dir)).to.deep.equal(['taken']);
    });

    it('does not touch an existing file when the tensors are invalid', () => {
      const path = join(dir, 'keep.safetensors');
      writeSafetensorsFile(path, { x: everyDType.U8! });
      const before = readFileSync(path);
      expectError(() => writeSafetensorsFile(path, { x: { dtype: 'F32', shape: [9], data: new Float32Array(1) } }), /keep\.safetensors: tensor 'x' has 1 elements/);
      expect(readFileSync(path)).to.deep.equal(before);
      expect(readdirSync(dir)).to.deep.equal(['keep.safetensors']);
    });
  });
});
