/**
 * Element-wise kernels through WebAssembly SIMD: clamp and relu (f32x4 / f64x2 pseudo-min/max, see
 * assembly/kernels.ts), add/sub/mul/div, a convolution's channel bias, LRP's stabilised divide and
 * the clamp/relu VJP (`pass_within`). Their JavaScript loops (ts/) pay a conversion per element and,
 * where they branch on signs, mispredictions; here the data is copied through linear memory in
 * chunks that stay in cache, computed branch-free, and copied back.
 *
 * Every kernel's results equal its JavaScript loop's bit for bit (NaN payloads aside): pmax(a, b) =
 * a < b ? b : a and pmin(a, b) = b < a ? b : a are the loops' own ternaries, so NaN elements pass
 * clamp unchanged and -0 is kept against a 0 bound; the four arithmetic ops are one IEEE operation
 * in the arrays' precision; the stabilised divide and pass_within compute in float64 lanes, as
 * their loops do. Inputs a kernel cannot reproduce exactly (for clamp: lo > hi, a NaN bound, a
 * float32 bound that is not a float32 value) return false and the dispatcher runs the TypeScript
 * loop.
 */
import { BinaryCode, type FloatArray } from '../types.js';
import { wasmScratch, type WasmScratch } from './index.js';

/** Any tensor storage; only Float32Array and Float64Array (both arrays the same) are handled. */
type Storage = ArrayLike<number> & ArrayBufferView;

/** The dtype both arrays share (true: float32), or null when they are not two float arrays of the same dtype. */
function floatPair(src: Storage, dst: Storage): boolean | null {
  if (src instanceof Float32Array) return dst instanceof Float32Array && dst.length >= src.length ? true : null;
  if (src instanceof Float64Array) return dst instanceof Float64Array && dst.length >= src.length ? false : null;
  return null;
}

/**
 * Below this many elements the JavaScript loops run: the copies and the call cost more than the
 * mispredictions they save (the measurements are in engine/kernels/wasm/README.md).
 */
export const WASM_ELEMENTWISE_MIN = 256;

/** Elements per pass through linear memory: 256 KB of float32, 512 KB of float64 stay in L2. */
const CHUNK = 1 << 16;

/**
 * dst[i] = src[i] < lo ? lo : src[i] > hi ? hi : src[i] (lo, hi: -Infinity / Infinity for no bound),
 * for src and dst of the same float dtype. Returns false, writing nothing, when the WebAssembly
 * kernels are inactive, the arrays are not both float32 or both float64, or the bounds are not
 * supported; any length is accepted.
 */
export function clampKernel(src: Storage, dst: Storage, lo: number, hi: number): boolean {
  if (!(lo <= hi)) return false;
  const single = floatPair(src, dst);
  if (single === null) return false;
  if (single && (Math.fround(lo) !== lo || Math.fround(hi) !== hi)) return false;
  return inChunks(src, dst, single, (e) => (single ? e.clampF32 : e.clampF64), (fn, p, m) => fn(p, m, lo, hi));
}

/** dst[i] = src[i] <= 0 ? 0 : src[i] (NaN stays NaN, -0 -> 0). False, writing nothing, when the WebAssembly kernels are inactive. */
export function reluKernel(src: Storage, dst: Storage): boolean {
  const single = floatPair(src, dst);
  if (single === null) return false;
  return inChunks(src, dst, single, (e) => (single ? e.reluF32 : e.reluF64), (fn, p, m) => fn(p, m));
}

/**
 * Copies src (and `second`, when given, into a second region at q) through linear memory CHUNK
 * elements at a time, runs the in-place kernel `pick` chooses on each chunk (`call` passes its
 * arguments; i is the chunk's first element) and copies the result to dst. False, writing nothing,
 * when the WebAssembly kernels are inactive.
 */
function inChunks<F>(
  src: Storage, dst: Storage, single: boolean,
  pick: (e: WasmScratch['exports']) => F, call: (fn: F, p: number, m: number, i: number, q: number) => void,
  second?: Storage,
): boolean {
  const n = src.length;
  const S = single ? 4 : 8;
  const region = Math.min(n, CHUNK) * S;
  const s = wasmScratch(second ? 2 * region : region);
  if (s === null) return false;
  const fn = pick(s.exports);
  const mem = single ? s.f32 : s.f64;
  const p = s.base;
  const q = p + region;
  for (let i = 0; i < n; i += CHUNK) {
    const m = Math.min(CHUNK, n - i);
    mem.set((src as FloatArray).subarray(i, i + m), p / S);
    if (second) mem.set((second as FloatArray).subarray(i, i + m), q / S);
    call(fn, p, m, i, q);
    (dst as FloatArray).set(mem.subarray(p / S, p / S + m), i);
  }
  return true;
}

/**
 * out = a (op) b for add, sub, mul and div where no broadcasting is left but a one-element operand:
 * a and b of out's size, or one of them a single element. Both operands are copied through linear
 * memory in cache-sized chunks; the JavaScript loop converts every float32 element to a double and
 * back, at about 2 ns per element, where the SIMD pass is bound by the copies. False, writing
 * nothing, for other shapes, mixed dtypes, Copy, or inactive kernels.
 */
export function binaryKernel(code: BinaryCode, a: Storage, b: Storage, out: Storage): boolean {
  if (code === BinaryCode.Copy) return false;
  const single = floatPair(a, out);
  if (single === null || floatPair(b, out) !== single) return false;
  const n = out.length;
  const aWhole = a.length === n;
  const bWhole = b.length === n;
  if (!(aWhole && bWhole) && !(aWhole && b.length === 1) && !(bWhole && a.length === 1)) return false;
  if (aWhole && bWhole) return inChunks(a, out, single, (e) => (single ? e.binaryF32 : e.binaryF64), (fn, p, m, _i, q) => fn(code, p, q, m), b);
  // The operand of out's size goes through memory (the result overwrites it); the scalar is an argument.
  const scalar = aWhole ? b[0]! : a[0]!;
  return inChunks(aWhole ? a : b, out, single, (e) => (single ? e.binaryScalarF32 : e.binaryScalarF64), (fn, p, m) => fn(code, p, scalar, aWhole ? 0 : 1, m));
}

/** The three arrays' shared dtype (true: float32) when they are all float32 or all float64 of one length; null otherwise. */
function floatTriple(a: Storage, b: Storage, out: Storage): boolean | null {
  const single = floatPair(a, out);
  return single !== null && floatPair(b, out) === single && a.length === out.length && b.length === out.length ? single : null;
}

/**
 * dst = r / (y + (y >= 0 ? eps : -eps)), zennit's stabilised divide, computed in float64 as the
 * TypeScript loop does (float32 arrays are widened per lane and rounded once), so bit for bit the
 * same; four or two lanes per divide instead of one. False, writing nothing, for mixed dtypes or
 * lengths, or inactive kernels.
 */
export function stabilizedDivKernel(r: Storage, y: Storage, dst: Storage, eps: number): boolean {
  const single = floatTriple(r, y, dst);
  if (single === null) return false;
  return inChunks(r, dst, single, (e) => (single ? e.stabilizedDivF32 : e.stabilizedDivF64), (fn, p, m, _i, q) => fn(p, q, m, eps), y);
}

/**
 * dst = g where lo <= x <= hi (lo < x when `openLo`), else g * 0 (the VJP of clamp and relu), with
 * the bounds compared in float64 as in the TypeScript loop (a float32 element against a bound such
 * as -Number.MIN_VALUE, which no float32 equals). False, writing nothing, for mixed dtypes or
 * lengths, or inactive kernels.
 */
export function passWithinKernel(g: Storage, x: Storage, dst: Storage, lo: number, hi: number, openLo: boolean): boolean {
  const single = floatTriple(g, x, dst);
  if (single === null) return false;
  return inChunks(g, dst, single, (e) => (single ? e.passWithinF32 : e.passWithinF64), (fn, p, m, _i, q) => fn(p, q, m, lo, hi, openLo ? 1 : 0), x);
}

/**
 * y[n, o, :] += b[o] in place (a convolution's bias, y of N x O x P), through linear memory in
 * chunks that span whole rows where they are short: one SIMD add of a one-element operand per row
 * segment. False, writing nothing, for mixed dtypes, small arrays or inactive kernels.
 */
export function addChannelBiasKernel(y: Storage, b: Storage, N: number, O: number, P: number): boolean {
  const single = floatPair(b, y);
  if (single === null || y.length < WASM_ELEMENTWISE_MIN || y.length !== N * O * P) return false;
  const S = single ? 4 : 8;
  return inChunks(y, y, single, (e) => (single ? e.binaryScalarF32 : e.binaryScalarF64), (add, p, m, i) => {
    // The rows (n, o) this chunk covers, each plus its channel's bias.
    for (let r = i; r < i + m; ) {
      const row = Math.floor(r / P);
      const end = Math.min((row + 1) * P, i + m);
      add(BinaryCode.Add, p + (r - i) * S, b[row % O]!, 0, end - r);
      r = end;
    }
  });
}
