/**
 * The WebAssembly SIMD backend's module and linear memory: loading, the preference check, and the
 * scratch the kernels (gemm.ts, conv.ts, elementwise.ts) copy their operands into. backend.ts is
 * the dispatcher's table row; the TypeScript kernels stay the reference and the fallback.
 *
 * Loading: the module's bytes are embedded (kernels-bytes.ts, generated from kernels.wasm by
 * scripts/build-wasm.ts), so no runtime or bundler has to locate a file. Where synchronous
 * compilation is allowed (Node, Web Workers) the kernels are ready when this module has loaded;
 * a browser's main thread refuses to compile modules over 4 KB synchronously, so there the module
 * compiles asynchronously and `ready()` (engine/kernels/status.ts) waits for it. A load that fails
 * (no WebAssembly, no SIMD, a content-security policy without 'wasm-unsafe-eval') warns once and
 * leaves the TypeScript kernels in charge; `wasmLoadFailure()` keeps the reason.
 *
 * Choosing the backend: `LRP_TAPE_KERNELS=ts` in the environment, or `setKernelBackend('ts')`
 * (../preference.ts), forces TypeScript; 'wasm' (the default) uses WebAssembly when it is loaded.
 *
 * Two embedded modules from one source: plain SIMD, and relaxed SIMD whose GEMM micro-kernels use
 * fused multiply-add (the last bits differ). The relaxed one loads where the runtime validates it
 * (current browsers; Node 20 with --experimental-wasm-relaxed-simd), the plain one otherwise;
 * `LRP_TAPE_WASM_RELAXED=0` or `setWasmRelaxedSimd(false)` keeps the plain one. `wasmVariant()`
 * says which runs; kernel workers load the same one (parallel/worker-loop.ts), so results stay
 * bit-identical for any thread count.
 * `loadWasmKernels(source)` replaces the embedded module with other bytes (e.g. a rebuilt one).
 *
 * Data transfer: tensors live in JavaScript typed arrays, so every call copies its operands into
 * linear memory (grown as needed, never shrunk) and its result back out: O(n^2) against O(n^3)
 * arithmetic for the GEMM, one image at a time for the convolutions.
 */
import { KERNELS_RELAXED_WASM_BASE64, KERNELS_WASM_BASE64 } from './kernels-bytes.js';
import type { FloatArray } from '../types.js';
import { preferredKernelBackend } from '../preference.js';

interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

export type Ptr = number;

export interface KernelExports {
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
  binaryF32: (code: number, p: Ptr, q: Ptr, n: number) => void;
  binaryF64: (code: number, p: Ptr, q: Ptr, n: number) => void;
  binaryScalarF32: (code: number, p: Ptr, s: number, scalarFirst: number, n: number) => void;
  binaryScalarF64: (code: number, p: Ptr, s: number, scalarFirst: number, n: number) => void;
  stabilizedDivF32: (p: Ptr, q: Ptr, n: number, eps: number) => void;
  stabilizedDivF64: (p: Ptr, q: Ptr, n: number, eps: number) => void;
  passWithinF32: (p: Ptr, q: Ptr, n: number, lo: number, hi: number, openLo: number) => void;
  passWithinF64: (p: Ptr, q: Ptr, n: number, lo: number, hi: number, openLo: number) => void;
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

/**
 * Which module runs: one of the two embedded builds ('simd', 'relaxed-simd'; also when the same
 * bytes were loaded from elsewhere) or other bytes given to `loadWasmKernels` ('custom').
 */
export type WasmVariant = 'simd' | 'relaxed-simd' | 'custom';

let variant: WasmVariant | null = null;
let relaxedWanted = readRelaxedEnv();
let relaxedNote: string | null = null;
let relaxedFailure: string | null = null;

function readRelaxedEnv(): boolean {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const v = env?.LRP_TAPE_WASM_RELAXED?.trim().toLowerCase();
  return !(v === '0' || v === 'false' || v === 'off' || v === 'no');
}

/** The loaded module's variant; null when none is loaded. */
export function wasmVariant(): WasmVariant | null {
  return kernels === null ? null : variant;
}

/** Why the relaxed-SIMD module does not run although the plain one does (switched off, or the runtime lacks relaxed SIMD); null otherwise. */
export function wasmRelaxedNote(): string | null {
  return variant === 'simd' ? relaxedNote : null;
}

/** Whether the WebAssembly kernels are loaded (whatever the preference). */
export function wasmKernelsAvailable(): boolean {
  return kernels !== null;
}

/** Loaded and chosen: the dispatcher's check before every call it could route here. */
export function wasmKernelsActive(): boolean {
  if (kernels !== null) return preferredKernelBackend() === 'wasm';
  if (pending !== null && preferredKernelBackend() === 'wasm') warnOnce('pending', 'lrp-tape: the WebAssembly kernels are still compiling; the TypeScript kernels (several times slower) run until then. Call `await ready()` before the first computation.');
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

function instantiate(module: object, as: WasmVariant): void {
  const instance = new WA!.Instance(module, { env: { abort: abortImport } });
  const exp = instance.exports as KernelExports;
  const missing = KERNEL_EXPORTS.filter((name) => typeof exp[name] !== 'function');
  if (missing.length) throw new Error(`the module lacks the kernel exports ${missing.join(', ')}`);
  install(exp);
  variant = as;
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
      instantiate(new WA.Module(source), variantOfBytes(source));
    } else {
      instantiate(source, 'custom');
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
    instantiate(await WA.compile(bytes), variantOfBytes(bytes));
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
  if (preferredKernelBackend() === 'wasm') warnOnce(`load:${reason}`, `lrp-tape: WebAssembly kernels unavailable (${reason}); using the TypeScript kernels, several times slower.`);
  return false;
}

function reasonOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function abortImport(): never {
  throw new Error('lrp-tape wasm kernels: abort');
}

function decodeBase64(base64: string): Uint8Array {
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

let plainBytes: Uint8Array | null = null;
let relaxedBytes: Uint8Array | null = null;

function embeddedPlain(): Uint8Array {
  return (plainBytes ??= decodeBase64(KERNELS_WASM_BASE64));
}

function embeddedRelaxed(): Uint8Array {
  return (relaxedBytes ??= decodeBase64(KERNELS_RELAXED_WASM_BASE64));
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Bytes loaded from elsewhere may be one of the embedded builds (dist/ ships both files). */
function variantOfBytes(source: BufferSource): WasmVariant {
  const bytes = source instanceof ArrayBuffer ? new Uint8Array(source) : new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  if (sameBytes(bytes, embeddedPlain())) return 'simd';
  if (sameBytes(bytes, embeddedRelaxed())) return 'relaxed-simd';
  return 'custom';
}

/**
 * Uses the relaxed-SIMD kernels where the runtime has them (`true`, the default unless
 * `LRP_TAPE_WASM_RELAXED=0`) or the plain SIMD ones (`false`), loading the embedded module of that
 * variant now (on a browser's main thread asynchronously: `await ready()`). Returns the variant that
 * runs afterwards. Kernel workers started before keep theirs, and the calling thread does not split
 * work over workers that run another variant.
 */
export function setWasmRelaxedSimd(enabled: boolean): WasmVariant | null {
  relaxedWanted = enabled;
  loadEmbedded();
  return wasmVariant();
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
  let as: WasmVariant = 'simd';
  let bytes = embeddedPlain();
  if (!relaxedWanted) relaxedNote = 'relaxed SIMD switched off (LRP_TAPE_WASM_RELAXED=0 or setWasmRelaxedSimd(false))';
  else if (!WA.validate(embeddedRelaxed())) relaxedNote = 'this runtime lacks WebAssembly relaxed SIMD (Node 20: node --experimental-wasm-relaxed-simd)';
  else if (relaxedFailure !== null) relaxedNote = relaxedFailure;
  else {
    relaxedNote = null;
    as = 'relaxed-simd';
    bytes = embeddedRelaxed();
  }
  if (kernels !== null && variant === as) return;
  if (as === 'simd' && !WA.validate(bytes)) {
    fail('the embedded kernel module does not validate: this runtime lacks WebAssembly SIMD');
    return;
  }
  // A relaxed module that validates but will not load falls back to the plain one.
  const failed = (e: unknown): boolean | Promise<boolean> => {
    if (as !== 'relaxed-simd') return fail(reasonOf(e));
    relaxedFailure = `the relaxed-SIMD module failed to load (${reasonOf(e)})`;
    const before = pending;
    loadEmbedded();
    // The plain module's own asynchronous compile, if it needed one: ready() waits for it too.
    return pending !== null && pending !== before ? pending : kernels !== null;
  };
  try {
    instantiate(new WA.Module(bytes), as);
  } catch (err) {
    if (!(err instanceof RangeError)) {
      failed(err);
      return;
    }
    const compiling: Promise<boolean> = WA.compile(bytes).then(
      (module) => {
        try {
          instantiate(module, as);
          return true;
        } catch (e) {
          return failed(e);
        }
      },
      (e: unknown) => failed(e),
    ).finally(() => {
      if (pending === compiling) pending = null;
    });
    pending = compiling;
  }
}

// ---------------------------------------------------------------------------------------------
// Linear memory

/** The first byte of linear memory the kernels may use as scratch (64-byte aligned). */
export let heapBase = 0;
let f32 = new Float32Array(0);
let f64 = new Float64Array(0);
let viewOf: ArrayBuffer | null = null;

function install(exp: KernelExports): void {
  kernels = exp;
  heapBase = align(exp.heapBase());
  viewOf = null;
  refreshViews();
}

export function align(p: number): number {
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
export function reserve(top: number): boolean {
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
  if (kernels === null || preferredKernelBackend() !== 'wasm' || !reserve(heapBase + bytes)) return null;
  return { exports: kernels, base: heapBase, f32, f64 };
}

/** Linear memory as an array of `like`'s dtype (valid until the next `reserve`). */
export function viewFor(like: FloatArray): FloatArray {
  return like instanceof Float32Array ? f32 : f64;
}

/** The loaded module's exports; only for kernels that the dispatcher routed here (so it is loaded). */
export function wasmExports(): KernelExports {
  return kernels!;
}

loadEmbedded();
