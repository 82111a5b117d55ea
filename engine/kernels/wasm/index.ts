/**
 * The WebAssembly SIMD kernel backend: GEMM and the convolution kernels with the same signatures
 * as the TypeScript ones. gemm.ts and conv.ts dispatch here when `wasmKernelsActive()`; the
 * TypeScript kernels stay the reference and the fallback.
 *
 * Loading: the module's bytes are embedded (kernels-bytes.ts, generated from kernels.wasm by
 * scripts/build-wasm.ts), so no runtime or bundler has to locate a file. Where synchronous
 * compilation is allowed (Node, Web Workers) the kernels are ready when this module has loaded;
 * a browser's main thread refuses to compile modules over 4 KB synchronously, so there the module
 * compiles asynchronously and `ready()` (engine/kernels/status.ts) waits for it. A load that fails
 * (no WebAssembly, no SIMD, a content-security policy without 'wasm-unsafe-eval') warns once and
 * leaves the TypeScript kernels in charge; `wasmLoadFailure()` keeps the reason.
 *
 * Choosing the backend: `LRP_TAPE_KERNELS=ts` in the environment, or `setKernelBackend('ts')`,
 * forces TypeScript; `setKernelBackend('wasm')` (the default) uses WebAssembly when it is loaded.
 * `loadWasmKernels(source)` replaces the embedded module with other bytes (e.g. a rebuilt one).
 *
 * Data transfer: tensors live in JavaScript typed arrays, so every call copies its operands into
 * linear memory (grown as needed, never shrunk) and its result back out: O(n^2) against O(n^3)
 * arithmetic for the GEMM, one image at a time for the convolutions.
 */
import { KERNELS_WASM_BASE64 } from './kernels-bytes.js';
import type { FloatArray } from '../gemm.js';
import type { ConvGeometry } from '../conv.js';

export type KernelBackend = 'ts' | 'wasm';

interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

type Ptr = number;

interface KernelExports {
  memory: WasmMemory;
  heapBase(): Ptr;
  gemmScratchBytesF32(M: number, N: number, K: number): number;
  gemmScratchBytesF64(M: number, N: number, K: number): number;
  gemmF32: GemmFn;
  gemmF64: GemmFn;
  im2colF32: Im2colFn;
  im2colF64: Im2colFn;
  col2imF32: Im2colFn;
  col2imF64: Im2colFn;
  clampF32: (p: Ptr, n: number, lo: number, hi: number) => void;
  clampF64: (p: Ptr, n: number, lo: number, hi: number) => void;
  reluF32: (p: Ptr, n: number) => void;
  reluF64: (p: Ptr, n: number) => void;
}

type GemmFn = (
  transA: number, transB: number, M: number, N: number, K: number,
  a: Ptr, lda: number, b: Ptr, ldb: number, c: Ptr, ldc: number, accumulate: number, work: Ptr,
) => void;

/** im2col(x, Cg, H, W, KH, KW, OW, sH, sW, pH, pW, dH, dW, oh0, oh1, col); col2im swaps x and col. */
type Im2colFn = (
  src: Ptr, Cg: number, H: number, W: number, KH: number, KW: number, OW: number,
  sH: number, sW: number, pH: number, pW: number, dH: number, dW: number, oh0: number, oh1: number, dst: Ptr,
) => void;

/** The slice of the WebAssembly JS API used here (the project compiles without the DOM lib). */
interface WasmApi {
  validate(bytes: BufferSource): boolean;
  Module: new (bytes: BufferSource) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
  compile(bytes: BufferSource): Promise<object>;
}
type BufferSource = ArrayBuffer | ArrayBufferView;

const WA = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;

let kernels: KernelExports | null = null;
let preferred: KernelBackend = readEnvPreference();

function readEnvPreference(): KernelBackend {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  return env?.LRP_TAPE_KERNELS?.trim().toLowerCase() === 'ts' ? 'ts' : 'wasm';
}

/** Chooses the kernels: 'ts' forces TypeScript, 'wasm' uses WebAssembly SIMD when it is available. */
export function setKernelBackend(backend: KernelBackend): void {
  if (backend !== 'ts' && backend !== 'wasm') throw new TypeError(`unknown kernel backend '${String(backend)}' (expected 'ts' or 'wasm')`);
  preferred = backend;
}

/** The backend that actually runs: 'wasm' only when it is preferred and loaded. */
export function getKernelBackend(): KernelBackend {
  return preferred === 'wasm' && kernels !== null ? 'wasm' : 'ts';
}

/** Whether the WebAssembly kernels are loaded (whatever the preference). */
export function wasmKernelsAvailable(): boolean {
  return kernels !== null;
}

/** Hot-path check used by gemm.ts and conv.ts. */
export function wasmKernelsActive(): boolean {
  if (kernels !== null) return preferred === 'wasm';
  if (pending !== null && preferred === 'wasm') warnOnce('pending', 'lrp-tape: the WebAssembly kernels are still compiling; the TypeScript kernels (several times slower) run until then. Call `await ready()` before the first computation.');
  return false;
}

const warned = new Set<string>();

/** One console warning per kind of problem for the whole process or page. */
export function warnOnce(kind: string, message: string): void {
  if (warned.has(kind)) return;
  warned.add(kind);
  (globalThis as { console?: { warn(m: string): void } }).console?.warn(message);
}

let failure: string | null = null;
let pending: Promise<boolean> | null = null;

/** Why the WebAssembly kernels are not loaded (null when they are, or while they are loading). */
export function wasmLoadFailure(): string | null {
  return failure;
}

/** The in-flight asynchronous load, if any (browsers' main thread). */
export function wasmLoadPending(): Promise<boolean> | null {
  return pending;
}

const KERNEL_EXPORTS = ['heapBase', 'gemmF32', 'gemmF64', 'im2colF32', 'im2colF64', 'col2imF32', 'col2imF64', 'clampF32', 'clampF64', 'reluF32', 'reluF64'] as const;

function instantiate(module: object): void {
  const instance = new WA!.Instance(module, { env: { abort: abortImport } });
  const exp = instance.exports as KernelExports;
  const missing = KERNEL_EXPORTS.filter((name) => typeof exp[name] !== 'function');
  if (missing.length) throw new Error(`the module lacks the kernel exports ${missing.join(', ')}`);
  install(exp);
  failure = null;
}

/**
 * Instantiates the kernels from the module's bytes (or a compiled WebAssembly.Module),
 * synchronously, replacing any loaded before. Returns false (and records the reason, see
 * `wasmLoadFailure`) when WebAssembly or SIMD is unavailable, the bytes are not a kernel module,
 * or this thread may not compile synchronously.
 */
export function initWasmKernels(source: BufferSource | object): boolean {
  if (!WA) return fail('this runtime has no WebAssembly');
  try {
    if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) {
      if (!WA.validate(source)) return fail('the module does not validate (WebAssembly SIMD is needed)');
      instantiate(new WA.Module(source));
    } else {
      instantiate(source);
    }
    return true;
  } catch (err) {
    return fail(reasonOf(err));
  }
}

/**
 * Asynchronous load: bytes, a fetch Response, or a promise of either; `what` names the source
 * (a URL or path) in the failure reason. Resolves to false on failure, never rejects.
 */
export async function loadWasmKernels(
  source: BufferSource | PromiseLike<BufferSource | { arrayBuffer(): Promise<ArrayBuffer>; ok?: boolean; status?: number }> | { arrayBuffer(): Promise<ArrayBuffer> },
  what = 'the given source',
): Promise<boolean> {
  if (!WA) return fail('this runtime has no WebAssembly');
  try {
    const resolved = await source;
    if (!(resolved instanceof ArrayBuffer || ArrayBuffer.isView(resolved)) && 'ok' in resolved && resolved.ok === false) {
      return fail(`${what} answered HTTP ${String(resolved.status)}`);
    }
    const bytes = resolved instanceof ArrayBuffer || ArrayBuffer.isView(resolved) ? resolved : await resolved.arrayBuffer();
    if (!WA.validate(bytes)) return fail(`${what} is not a valid kernel module (WebAssembly SIMD is needed)`);
    instantiate(await WA.compile(bytes));
    return true;
  } catch (err) {
    return fail(`${what}: ${reasonOf(err)}`);
  }
}

/** Records and reports a failed load once; kernels loaded earlier (the embedded ones) stay in charge. */
function fail(reason: string): false {
  if (kernels !== null) {
    warnOnce(`replace:${reason}`, `lrp-tape: could not load the WebAssembly kernels (${reason}); keeping the kernels already loaded.`);
    return false;
  }
  failure = reason;
  if (preferred === 'wasm') warnOnce(`load:${reason}`, `lrp-tape: WebAssembly kernels unavailable (${reason}); using the TypeScript kernels, several times slower.`);
  return false;
}

function reasonOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function abortImport(): never {
  throw new Error('lrp-tape wasm kernels: abort');
}

function embeddedBytes(): Uint8Array {
  const text = atob(KERNELS_WASM_BASE64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

/**
 * Synchronous where the thread allows it; otherwise (a browser's main thread refuses synchronous
 * compilation of modules over 4 KB with a RangeError) one asynchronous compile that `ready()` awaits.
 */
function loadEmbedded(): void {
  if (!WA) {
    fail('this runtime has no WebAssembly');
    return;
  }
  const bytes = embeddedBytes();
  if (!WA.validate(bytes)) {
    fail('the embedded kernel module does not validate: this runtime lacks WebAssembly SIMD');
    return;
  }
  try {
    instantiate(new WA.Module(bytes));
  } catch (err) {
    if (!(err instanceof RangeError)) {
      fail(reasonOf(err));
      return;
    }
    pending = WA.compile(bytes).then(
      (module) => {
        try {
          instantiate(module);
          return true;
        } catch (e) {
          return fail(reasonOf(e));
        }
      },
      (e: unknown) => fail(reasonOf(e)),
    ).finally(() => {
      pending = null;
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Linear memory

let heapBase = 0;
let f32 = new Float32Array(0);
let f64 = new Float64Array(0);
let viewOf: ArrayBuffer | null = null;

function install(exp: KernelExports): void {
  kernels = exp;
  heapBase = align(exp.heapBase());
  viewOf = null;
  refreshViews();
}

function align(p: number): number {
  return (p + 63) & ~63;
}

function refreshViews(): void {
  const buf = kernels!.memory.buffer;
  if (buf !== viewOf) {
    viewOf = buf;
    f32 = new Float32Array(buf);
    f64 = new Float64Array(buf);
  }
}

/** Makes linear memory at least `top` bytes long; false when it cannot grow that far (the caller falls back to TypeScript). */
function reserve(top: number): boolean {
  const mem = kernels!.memory;
  const have = mem.buffer.byteLength;
  if (top > have) {
    if (top > 0xffff0000) return false;
    try {
      mem.grow(Math.ceil((top - have) / 65536));
    } catch {
      return false;
    }
  }
  refreshViews();
  return true;
}

/** What elementwise.ts needs: the exports and views of linear memory with `bytes` bytes free from `base`. */
export interface WasmScratch {
  readonly exports: KernelExports;
  readonly base: Ptr;
  readonly f32: Float32Array;
  readonly f64: Float64Array;
}

/**
 * For this folder's other kernel files (elementwise.ts): null unless the WebAssembly kernels are
 * active and linear memory can hold `bytes` bytes from the returned base (the same region the GEMM
 * and convolutions use: no call is in flight across another).
 */
export function wasmScratch(bytes: number): WasmScratch | null {
  if (kernels === null || preferred !== 'wasm' || !reserve(heapBase + bytes)) return null;
  return { exports: kernels, base: heapBase, f32, f64 };
}

function viewFor(like: FloatArray): FloatArray {
  return like instanceof Float32Array ? f32 : f64;
}

/** Copies the rows x cols matrix at src[off + r*ld + c] into mem[dst + r*cols + c]. */
function copyIn(src: FloatArray, off: number, ld: number, rows: number, cols: number, mem: FloatArray, dst: number): void {
  if (ld === cols || rows === 1) {
    mem.set(src.subarray(off, off + rows * cols), dst);
  } else if (cols >= 32) {
    for (let r = 0; r < rows; r++) mem.set(src.subarray(off + r * ld, off + r * ld + cols), dst + r * cols);
  } else {
    for (let r = 0; r < rows; r++) {
      const s = off + r * ld;
      const d = dst + r * cols;
      for (let c = 0; c < cols; c++) mem[d + c] = src[s + c]!;
    }
  }
}

/** Copies mem[src + r*cols + c] (rows x cols, contiguous) out to dst[off + r*ld + c]. */
function copyOut(mem: FloatArray, src: number, rows: number, cols: number, dst: FloatArray, off: number, ld: number): void {
  if (ld === cols || rows === 1) {
    dst.set(mem.subarray(src, src + rows * cols), off);
  } else if (cols >= 32) {
    for (let r = 0; r < rows; r++) dst.set(mem.subarray(src + r * cols, src + r * cols + cols), off + r * ld);
  } else {
    for (let r = 0; r < rows; r++) {
      const s = src + r * cols;
      const d = off + r * ld;
      for (let c = 0; c < cols; c++) dst[d + c] = mem[s + c]!;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// GEMM

/**
 * Operand elements one GEMM block may copy into linear memory (32 MiB of float32). Bigger products
 * (a VGG classifier's 25088 x 4096 weight, say) run as several blocks, so linear memory, which never
 * shrinks, stays bounded while each large operand is still copied about once.
 */
let gemmBlockElements = 1 << 23;

/**
 * Sets the per-block operand budget of the WebAssembly GEMM (elements) and returns the previous
 * one. For specs that exercise the blocked path on small products; there is no need to tune it.
 */
export function setWasmGemmBlockElements(elements: number): number {
  const prev = gemmBlockElements;
  gemmBlockElements = Math.max(64, Math.floor(elements));
  return prev;
}

/**
 * gemmStrided through WebAssembly: C[M,N] (+)= op(A) op(B) with row strides lda, ldb, ldc.
 * The caller (gemm.ts) has checked dtypes. Returns false when linear memory cannot hold even one
 * block, in which case nothing was written.
 */
export function gemmWasm(
  transA: boolean,
  transB: boolean,
  M: number,
  N: number,
  K: number,
  A: FloatArray,
  aOff: number,
  lda: number,
  B: FloatArray,
  bOff: number,
  ldb: number,
  C: FloatArray,
  cOff: number,
  ldc: number,
  accumulate: boolean,
): boolean {
  if (M <= 0 || N <= 0) return true;
  if (K <= 0) {
    if (!accumulate) for (let i = 0; i < M; i++) C.fill(0, cOff + i * ldc, cOff + i * ldc + N);
    return true;
  }
  // K is split (accumulating) only when it alone would crowd out the M and N blocks.
  const kb = Math.min(K, gemmBlockElements >> 6);
  let mb = M;
  let nb = N;
  while (mb * kb + kb * nb + mb * nb > gemmBlockElements) {
    if (kb * nb >= mb * kb) nb = Math.ceil(nb / 2);
    else mb = Math.ceil(mb / 2);
  }
  if (mb === M && nb === N && kb === K) {
    return gemmBlock(transA, transB, M, N, K, A, aOff, lda, B, bOff, ldb, C, cOff, ldc, accumulate);
  }
  // Reserve the largest block's memory up front, so that a failure leaves C untouched.
  if (!gemmBlockFits(C instanceof Float32Array, mb, nb, kb)) return false;
  for (let i0 = 0; i0 < M; i0 += mb) {
    const m = Math.min(mb, M - i0);
    for (let j0 = 0; j0 < N; j0 += nb) {
      const n = Math.min(nb, N - j0);
      for (let k0 = 0; k0 < K; k0 += kb) {
        const k = Math.min(kb, K - k0);
        const a0 = transA ? aOff + k0 * lda + i0 : aOff + i0 * lda + k0;
        const b0 = transB ? bOff + j0 * ldb + k0 : bOff + k0 * ldb + j0;
        gemmBlock(transA, transB, m, n, k, A, a0, lda, B, b0, ldb, C, cOff + i0 * ldc + j0, ldc, accumulate || k0 > 0);
      }
    }
  }
  return true;
}

interface GemmBlockLayout {
  pA: number;
  pB: number;
  pC: number;
  pW: number;
  top: number;
}

function gemmBlockLayout(single: boolean, M: number, N: number, K: number): GemmBlockLayout {
  const S = single ? 4 : 8;
  const pA = heapBase;
  const pB = align(pA + M * K * S);
  const pC = align(pB + K * N * S);
  const pW = align(pC + M * N * S);
  const scratch = single ? kernels!.gemmScratchBytesF32(M, N, K) : kernels!.gemmScratchBytesF64(M, N, K);
  return { pA, pB, pC, pW, top: pW + scratch };
}

function gemmBlockFits(single: boolean, M: number, N: number, K: number): boolean {
  return reserve(gemmBlockLayout(single, M, N, K).top);
}

/** One GEMM whose operands all fit in linear memory: copy in, multiply, copy out. */
function gemmBlock(
  transA: boolean,
  transB: boolean,
  M: number,
  N: number,
  K: number,
  A: FloatArray,
  aOff: number,
  lda: number,
  B: FloatArray,
  bOff: number,
  ldb: number,
  C: FloatArray,
  cOff: number,
  ldc: number,
  accumulate: boolean,
): boolean {
  const k = kernels!;
  const single = C instanceof Float32Array;
  const S = single ? 4 : 8;
  const aRows = transA ? K : M;
  const aCols = transA ? M : K;
  const bRows = transB ? N : K;
  const bCols = transB ? K : N;
  const { pA, pB, pC, pW, top } = gemmBlockLayout(single, M, N, K);
  if (!reserve(top)) return false;
  const mem = viewFor(C);
  copyIn(A, aOff, lda, aRows, aCols, mem, pA / S);
  copyIn(B, bOff, ldb, bRows, bCols, mem, pB / S);
  if (accumulate) copyIn(C, cOff, ldc, M, N, mem, pC / S);
  (single ? k.gemmF32 : k.gemmF64)(transA ? 1 : 0, transB ? 1 : 0, M, N, K, pA, aCols, pB, bCols, pC, N, accumulate ? 1 : 0, pW);
  copyOut(mem, pC / S, M, N, C, cOff, ldc);
  return true;
}

// ---------------------------------------------------------------------------------------------
// Convolution: one image at a time in linear memory, im2col + GEMM over bands of output rows.

/** Same band cap as conv.ts: the column buffer stays a few MB. */
const COL_CAP = 1 << 21;

interface ConvLayout {
  Cg: number;
  Og: number;
  Kc: number;
  P: number;
  HW: number;
  rows: number;
  pointwise: boolean;
  S: number;
}

function convLayout(g: ConvGeometry, single: boolean): ConvLayout {
  const Cg = g.C / g.groups;
  const Og = g.O / g.groups;
  const Kc = Cg * g.KH * g.KW;
  const pointwise = g.KH === 1 && g.KW === 1 && g.strideH === 1 && g.strideW === 1 && g.padH === 0 && g.padW === 0;
  return {
    Cg, Og, Kc,
    P: g.OH * g.OW,
    HW: g.H * g.W,
    rows: Math.max(1, Math.min(g.OH, Math.floor(COL_CAP / (Kc * g.OW)))),
    pointwise,
    S: single ? 4 : 8,
  };
}

function im2colCall(single: boolean, g: ConvGeometry, Cg: number, src: Ptr, oh0: number, oh1: number, dst: Ptr): void {
  (single ? kernels!.im2colF32 : kernels!.im2colF64)(
    src, Cg, g.H, g.W, g.KH, g.KW, g.OW, g.strideH, g.strideW, g.padH, g.padW, g.dilH, g.dilW, oh0, oh1, dst,
  );
}

function col2imCall(single: boolean, g: ConvGeometry, Cg: number, src: Ptr, oh0: number, oh1: number, dst: Ptr): void {
  (single ? kernels!.col2imF32 : kernels!.col2imF64)(
    src, Cg, g.H, g.W, g.KH, g.KW, g.OW, g.strideH, g.strideW, g.padH, g.padW, g.dilH, g.dilW, oh0, oh1, dst,
  );
}

/** Scratch bytes for the largest GEMM a convolution issues (all its GEMMs are no larger in any dimension). */
function convScratch(single: boolean, M: number, N: number, K: number): number {
  return single ? kernels!.gemmScratchBytesF32(M, N, K) : kernels!.gemmScratchBytesF64(M, N, K);
}

/** y[N,O,OH,OW] = conv(x, w); false when linear memory cannot hold one image (nothing written). */
export function conv2dForwardWasm(x: FloatArray, w: FloatArray, y: FloatArray, g: ConvGeometry): boolean {
  const single = y instanceof Float32Array;
  const L = convLayout(g, single);
  const { Cg, Og, Kc, P, HW, rows, S } = L;
  const pb = rows * g.OW;
  const pW = heapBase;
  const pX = align(pW + g.O * Kc * S);
  const pY = align(pX + g.C * HW * S);
  const pCol = align(pY + g.O * P * S);
  const pWork = align(pCol + (L.pointwise ? 0 : Kc * pb * S));
  if (!reserve(pWork + convScratch(single, Og, L.pointwise ? P : pb, Kc))) return false;
  const mem = viewFor(y);
  const gemmFn = single ? kernels!.gemmF32 : kernels!.gemmF64;
  mem.set(w.subarray(0, g.O * Kc), pW / S);
  for (let n = 0; n < g.N; n++) {
    mem.set(x.subarray(n * g.C * HW, (n + 1) * g.C * HW), pX / S);
    for (let gr = 0; gr < g.groups; gr++) {
      const xg = pX + gr * Cg * HW * S;
      const yg = pY + gr * Og * P * S;
      const wg = pW + gr * Og * Kc * S;
      if (L.pointwise) {
        gemmFn(0, 0, Og, P, Kc, wg, Kc, xg, P, yg, P, 0, pWork);
        continue;
      }
      for (let oh0 = 0; oh0 < g.OH; oh0 += rows) {
        const oh1 = Math.min(g.OH, oh0 + rows);
        const nb = (oh1 - oh0) * g.OW;
        im2colCall(single, g, Cg, xg, oh0, oh1, pCol);
        gemmFn(0, 0, Og, nb, Kc, wg, Kc, pCol, nb, yg + oh0 * g.OW * S, P, 0, pWork);
      }
    }
    y.set(mem.subarray(pY / S, pY / S + g.O * P), n * g.O * P);
  }
  return true;
}

/** gx[N,C,H,W] = the transposed convolution of gy with w; false when memory cannot hold one image. */
export function conv2dBackwardInputWasm(gy: FloatArray, w: FloatArray, gx: FloatArray, g: ConvGeometry): boolean {
  const single = gx instanceof Float32Array;
  const L = convLayout(g, single);
  const { Cg, Og, Kc, P, HW, rows, S } = L;
  const pb = rows * g.OW;
  const pW = heapBase;
  const pGY = align(pW + g.O * Kc * S);
  const pGX = align(pGY + g.O * P * S);
  const pCol = align(pGX + g.C * HW * S);
  const pWork = align(pCol + (L.pointwise ? 0 : Kc * pb * S));
  if (!reserve(pWork + convScratch(single, Kc, L.pointwise ? P : pb, Og))) return false;
  const mem = viewFor(gx);
  const gemmFn = single ? kernels!.gemmF32 : kernels!.gemmF64;
  mem.set(w.subarray(0, g.O * Kc), pW / S);
  for (let n = 0; n < g.N; n++) {
    mem.set(gy.subarray(n * g.O * P, (n + 1) * g.O * P), pGY / S);
    // The pointwise GEMM overwrites every channel block; col2im only adds into the taps it reaches.
    if (!L.pointwise) mem.fill(0, pGX / S, pGX / S + g.C * HW);
    for (let gr = 0; gr < g.groups; gr++) {
      const xg = pGX + gr * Cg * HW * S;
      const yg = pGY + gr * Og * P * S;
      const wg = pW + gr * Og * Kc * S;
      if (L.pointwise) {
        gemmFn(1, 0, Kc, P, Og, wg, Kc, yg, P, xg, P, 0, pWork);
        continue;
      }
      for (let oh0 = 0; oh0 < g.OH; oh0 += rows) {
        const oh1 = Math.min(g.OH, oh0 + rows);
        const nb = (oh1 - oh0) * g.OW;
        gemmFn(1, 0, Kc, nb, Og, wg, Kc, yg + oh0 * g.OW * S, P, pCol, nb, 0, pWork);
        col2imCall(single, g, Cg, pCol, oh0, oh1, xg);
      }
    }
    gx.set(mem.subarray(pGX / S, pGX / S + g.C * HW), n * g.C * HW);
  }
  return true;
}

/** gw[O,C/groups,KH,KW] = d<conv(x,w), gy>/dw; false when memory cannot hold one image. */
export function conv2dBackwardWeightWasm(x: FloatArray, gy: FloatArray, gw: FloatArray, g: ConvGeometry): boolean {
  const single = gw instanceof Float32Array;
  const L = convLayout(g, single);
  const { Cg, Og, Kc, P, HW, rows, S } = L;
  const pb = rows * g.OW;
  const pGW = heapBase;
  const pX = align(pGW + g.O * Kc * S);
  const pGY = align(pX + g.C * HW * S);
  const pCol = align(pGY + g.O * P * S);
  const pWork = align(pCol + (L.pointwise ? 0 : Kc * pb * S));
  if (!reserve(pWork + convScratch(single, Og, Kc, L.pointwise ? P : pb))) return false;
  const mem = viewFor(gw);
  const gemmFn = single ? kernels!.gemmF32 : kernels!.gemmF64;
  mem.fill(0, pGW / S, pGW / S + g.O * Kc);
  for (let n = 0; n < g.N; n++) {
    mem.set(x.subarray(n * g.C * HW, (n + 1) * g.C * HW), pX / S);
    mem.set(gy.subarray(n * g.O * P, (n + 1) * g.O * P), pGY / S);
    for (let gr = 0; gr < g.groups; gr++) {
      const xg = pX + gr * Cg * HW * S;
      const yg = pGY + gr * Og * P * S;
      const wg = pGW + gr * Og * Kc * S;
      if (L.pointwise) {
        gemmFn(0, 1, Og, Kc, P, yg, P, xg, P, wg, Kc, 1, pWork);
        continue;
      }
      for (let oh0 = 0; oh0 < g.OH; oh0 += rows) {
        const oh1 = Math.min(g.OH, oh0 + rows);
        const nb = (oh1 - oh0) * g.OW;
        im2colCall(single, g, Cg, xg, oh0, oh1, pCol);
        gemmFn(0, 1, Og, Kc, nb, yg + oh0 * g.OW * S, P, pCol, nb, wg, Kc, 1, pWork);
      }
    }
  }
  gw.set(mem.subarray(pGW / S, pGW / S + g.O * Kc));
  return true;
}

loadEmbedded();
