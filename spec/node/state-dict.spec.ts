/**
 * Loading weights without per-element work (issue 19 item 4): the file's bytes become tensors as
 * views or bulk copies. What must hold: bits unchanged, any data offset, float32 files into float64
 * models, no two tensors sharing bytes, the parameter cache noticing writes, errors unchanged.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from '../../engine/index.js';
import { parseSafetensors, serializeSafetensors, SafetensorsError, type RawTensor } from '../../engine/safetensors.js';
import { Sequential, Conv2d, BatchNorm2d, ReLU, Flatten, Linear, SGD, StateDictError, type Module } from '../../nn/index.js';
import { loadStateDictFile, readSafetensorsFile, readStateDictFile, writeStateDictFile } from '../../node/index.js';

function model(seed: number, dtype: 'float32' | 'float64' = 'float32'): Module & { call(x: E.Tensor): E.Tensor } {
  const rng = new E.Rng(seed);
  return new Sequential(
    new Conv2d(2, 3, 3, { rng, dtype, padding: 1 }),
    new BatchNorm2d(3, { dtype }),
    new ReLU(),
    new Flatten(),
    new Linear(3 * 4 * 4, 5, { rng, dtype }),
  );
}

/** A file with special bit patterns (NaN payloads, -0, subnormals, infinities) in every float tensor. */
function specialWeights(m: Module): void {
  const specials = new Uint32Array([0x7fc00001, 0xffbfffff, 0x80000000, 0x00000001, 0x7f800000, 0xff800000, 0x3f800000]);
  for (const p of m.parameters()) {
    if (!(p.data instanceof Float32Array)) continue;
    new Uint32Array(p.data.buffer, p.data.byteOffset, Math.min(specials.length, p.data.length)).set(specials.subarray(0, p.data.length));
  }
}

function bits(t: E.Tensor): number[] {
  const d = t.data;
  return Array.from(new Uint32Array(d.buffer, d.byteOffset, d.byteLength / 4));
}

function stateBits(m: Module): Map<string, number[]> {
  return new Map([...m.stateDict()].map(([k, t]) => [k, t.dtype === 'int32' ? Array.from(t.data) : bits(t)]));
}

/** Bytes whose data section starts at `dataStart` (any residue mod 8): header padded with spaces. */
function withDataStart(tensors: Record<string, RawTensor>, residue: number): Uint8Array {
  const canonical = serializeSafetensors(tensors);
  const n = Number(new DataView(canonical.buffer).getBigUint64(0, true));
  const json = new TextDecoder().decode(canonical.subarray(8, 8 + n)).trimEnd();
  let padded = json;
  while ((8 + padded.length) % 8 !== residue) padded += ' ';
  const head = new TextEncoder().encode(padded);
  const out = new Uint8Array(8 + head.length + canonical.length - 8 - n);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  out.set(canonical.subarray(8 + n), 8 + head.length);
  return out;
}

const TENSORS: Record<string, RawTensor> = {
  // Names sort a, b, c, d: the F16 tensor's 3 elements (6 bytes) leave 'b' and 'c' at offsets that
  // are not multiples of 4 or 8 within the data section.
  a: { dtype: 'F16', shape: [3], data: new Float32Array([1.5, -0, 65504]) },
  b: { dtype: 'F32', shape: [2], data: new Float32Array([0.1, -3e38]) },
  c: { dtype: 'F64', shape: [2], data: new Float64Array([Math.PI, -Number.MIN_VALUE]) },
  d: { dtype: 'BF16', shape: [1], data: new Float32Array([-2]) },
};

describe('loading weights without per-element copies', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'lrp-tape-load-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('round-trips a model bit for bit through loadStateDictFile and readStateDictFile + loadStateDict', () => {
    const src = model(1);
    specialWeights(src);
    const path = join(dir, 'round.safetensors');
    writeStateDictFile(path, src);
    const viaFile = model(2);
    loadStateDictFile(viaFile, path);
    const viaDict = model(3);
    viaDict.loadStateDict(readStateDictFile(path));
    expect(stateBits(viaFile)).to.deep.equal(stateBits(src));
    expect(stateBits(viaDict)).to.deep.equal(stateBits(src));
    for (const p of viaFile.parameters()) expect(p.requiresGrad).to.equal(true);
  });

  for (const residue of [0, 1, 2, 3, 4, 5, 6, 7]) {
    it(`reads every dtype with the data section at offset 8k+${residue}, from bytes (copied or shared) and from a file`, () => {
      const bytes = withDataStart(TENSORS, residue);
      const expected = parseSafetensors(serializeSafetensors(TENSORS)).tensors;
      const path = join(dir, `offset-${residue}.safetensors`);
      writeFileSync(path, bytes);
      const shared = parseSafetensors(bytes.slice(), 'x', { shareBytes: true }).tensors;
      for (const parsed of [parseSafetensors(bytes).tensors, shared, readSafetensorsFile(path).tensors]) {
        for (const [name, t] of expected) {
          expect(parsed.get(name)!.data, name).to.deep.equal(t.data);
          expect(Object.prototype.toString.call(parsed.get(name)!.data), name).to.equal(Object.prototype.toString.call(t.data));
        }
      }
    });
  }

  it('views the file buffer for every tensor whose offset suits its dtype, whatever the header padding', () => {
    const tensors: Record<string, RawTensor> = {
      c: { dtype: 'F64', shape: [3], data: new Float64Array([1, 2, 3]) },
      w: { dtype: 'F32', shape: [3], data: new Float32Array([4, 5, 6]) },
      x: { dtype: 'I32', shape: [1], data: new Int32Array([7]) },
    };
    for (const residue of [0, 3, 5]) {
      const path = join(dir, `views-${residue}.safetensors`);
      writeFileSync(path, withDataStart(tensors, residue));
      const parsed = readSafetensorsFile(path).tensors;
      const buffers = new Set([...parsed.values()].map((t) => t.data.buffer));
      expect(buffers.size, 'one buffer: views, not copies').to.equal(1);
      for (const [name, t] of parsed) expect(t.data.byteOffset % t.data.BYTES_PER_ELEMENT, name).to.equal(0);
      expect(parsed.get('w')!.data).to.deep.equal(new Float32Array([4, 5, 6]));
    }
  });

  it('copies by default: writing into the bytes afterwards changes no tensor', () => {
    const bytes = serializeSafetensors({ w: { dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) } });
    const dict = parseSafetensors(bytes).tensors;
    bytes.fill(0xff, bytes.length - 8);
    expect(dict.get('w')!.data).to.deep.equal(new Float32Array([1, 2]));
  });

  it('loads a float32 file into a float64 model exactly', () => {
    const src = model(4);
    const path = join(dir, 'f32.safetensors');
    writeStateDictFile(path, src);
    const target = model(5, 'float64');
    loadStateDictFile(target, path);
    const viaDict = model(6, 'float64');
    viaDict.loadStateDict(readStateDictFile(path));
    const want = src.stateDict();
    for (const m of [target, viaDict]) {
      for (const [name, t] of m.stateDict()) {
        const w = want.get(name)!;
        if (w.dtype === 'int32') continue;
        expect(t.dtype, name).to.equal('float64');
        expect(Array.from(t.data), name).to.deep.equal(Array.from(w.data));
      }
    }
  });

  it('gives each parameter its own bytes: an optimizer step on one leaves every other unchanged', () => {
    const path = join(dir, 'disjoint.safetensors');
    writeStateDictFile(path, model(7));
    const m = model(8);
    loadStateDictFile(m, path);
    const params = m.parameters();
    // They are views of the one file buffer (else this test would not test aliasing).
    expect(new Set(params.map((p) => p.data.buffer)).size).to.equal(1);
    const before = stateBits(m);
    const [first] = params;
    first!.grad = E.onesLike(first!);
    new SGD([first!], { lr: 0.5 }).step();
    const after = stateBits(m);
    const firstName = [...m.namedParameters()].find(([, p]) => p === first)![0];
    for (const [name, b] of before) {
      if (name === firstName) expect(after.get(name), name).to.not.deep.equal(b);
      else expect(after.get(name), name).to.deep.equal(b);
    }
    // Nor does writing into the dict's tensors of another read change the loaded model.
    const dict = readStateDictFile(path);
    const copied = model(9);
    copied.loadStateDict(dict);
    const loaded = stateBits(copied);
    for (const t of dict.values()) if (t.dtype !== 'int32') t.data.fill(0);
    expect(stateBits(copied)).to.deep.equal(loaded);
  });

  it('does not let two parameters share a storage when assign is given one tensor twice', () => {
    const a = new Linear(2, 2, { rng: new E.Rng(1) });
    const b = new Linear(2, 2, { rng: new E.Rng(2) });
    const m = new Sequential(a, b);
    const w = E.tensor([[1, 2], [3, 4]], { dtype: 'float32' });
    const bias = E.tensor([5, 6], { dtype: 'float32' });
    m.loadStateDict(new Map([['0.weight', w], ['0.bias', bias], ['1.weight', w], ['1.bias', bias]]), { assign: true });
    expect(a.weight.data).to.equal(w.data);
    expect(b.weight.data).to.not.equal(w.data);
    expect(Array.from(b.weight.data)).to.deep.equal([1, 2, 3, 4]);
  });

  it('the parameter cache still sees an in-place write into a weight loaded as a view', () => {
    const path = join(dir, 'cache.safetensors');
    writeStateDictFile(path, model(10));
    const m = model(11);
    m.eval();
    loadStateDictFile(m, path);
    const x = E.randn([1, 2, 4, 4], { dtype: 'float32', rng: new E.Rng(3) });
    const y0 = E.noGrad(() => m.call(x)).toArray();
    expect(E.noGrad(() => m.call(x)).toArray()).to.deep.equal(y0);
    const conv = m.parameters()[0]!;
    for (let i = 0; i < conv.data.length; i++) conv.data[i] = conv.data[i]! * 2;
    const y1 = E.noGrad(() => m.call(x)).toArray();
    const fresh = model(12);
    fresh.eval();
    fresh.loadStateDict(m.stateDict());
    const prev = E.setParamCache(false);
    try {
      expect(y1).to.deep.equal(E.noGrad(() => fresh.call(x)).toArray());
    } finally {
      E.setParamCache(prev);
    }
    expect(y1).to.not.deep.equal(y0);
  });

  it('keeps the errors: malformed files name the path and the tensor, shape mismatches the key', () => {
    const overlapping = new Uint8Array(8);
    const header = { a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [2, 6] } };
    const json = new TextEncoder().encode(JSON.stringify(header));
    const bytes = new Uint8Array(8 + json.length + overlapping.length);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(json.length), true);
    bytes.set(json, 8);
    const path = join(dir, 'bad.safetensors');
    writeFileSync(path, bytes);
    const m = model(13);
    let caught: unknown;
    try {
      loadStateDictFile(m, path);
    } catch (e) {
      caught = e;
    }
    expect(caught).to.be.instanceOf(SafetensorsError);
    const err = caught as SafetensorsError;
    expect(err.source).to.equal(path);
    expect(err.tensor).to.equal('b');
    // The same message as parsing the bytes, with the path as the source.
    expect(() => parseSafetensors(bytes, path)).to.throw(SafetensorsError, err.message);

    expect(() => loadStateDictFile(m, join(dir, 'missing.safetensors'))).to.throw(SafetensorsError, /missing\.safetensors: cannot read file/);

    const other = join(dir, 'other.safetensors');
    writeStateDictFile(other, new Sequential(new Linear(3, 5)));
    expect(() => loadStateDictFile(m, other)).to.throw(StateDictError, /0\.weight: expected \[3, 2, 3, 3\], got \[5, 3\]/);
    // Nothing was changed by the failed loads.
    expect(m.parameters().every((p) => p.data.buffer.byteLength < 10_000)).to.equal(true);
  });
});
