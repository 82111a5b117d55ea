/**
 * The shared-memory protocol between the main thread and one kernel worker (see README.md).
 *
 * Each worker owns a control block: an Int32Array over its own SharedArrayBuffer. The main thread
 * writes a job descriptor into it, bumps SEQ and `Atomics.notify`s; the worker, parked in
 * `Atomics.wait` on SEQ, runs the job on views of the pool's data SharedArrayBuffer, writes
 * STATUS (and an error message into the same block), stores SEQ's value into DONE and notifies.
 * Nothing goes through the event loop of either thread except a replaced data buffer, which the
 * worker pulls synchronously with `receiveMessageOnPort` when the descriptor names a newer one.
 */
import type { WasmVariant } from '../wasm/index.js';

/** Int32 slots of the control block. */
export const STATE = 0;
export const SEQ = 1;
export const DONE = 2;
export const STATUS = 3;
/** The worker's WebAssembly module as a wasmVariantCode, 0 when none loaded (it must run the same kernels as the main thread). */
export const WASM = 4;
/** Bytes of the UTF-8 error message at ERR_BYTE. */
export const ERR_LEN = 5;
/** Descriptor: the job. */
export const D_OP = 8;
export const D_GEN = 9;
export const D_F64 = 10;
export const D_WASM = 11;
/** Job-specific fields start here (see encodeGemm / encodeConv). */
export const D_ARGS = 12;
export const CONTROL_INTS = 64;
export const ERR_BYTE = CONTROL_INTS * 4;
export const ERR_CAP = 2048;
export const CONTROL_BYTES = ERR_BYTE + ERR_CAP;

/** STATE values. */
export const STARTING = 0;
export const READY = 1;
export const FAILED = 2;
export const EXITED = 3;

/** STATUS values. */
export const OK = 0;
export const ERROR = 1;

/** D_OP values (an entry module may serve more: worker-loop.ts's extraJobs). */
export const OP_GEMM = 1;
export const OP_CONV = 2;

/**
 * The schedule block, one Int32Array over a SharedArrayBuffer shared by the pool: the chunks of the
 * current job and who computed each. Chunk 0 is the main thread's and chunk i the first of worker i
 * (so the main thread copies only those workers' operands before waking them); after its first
 * chunk every participant waits for TAIL_READY (the operands of the other chunks are in shared
 * memory) and takes the next chunk with Atomics.add on NEXT until none is left, recording itself as
 * the chunk's owner.
 */
export const NEXT = 0;
export const COUNT = 1;
export const TAIL_READY = 2;
export const MAX_CHUNKS = 256;
export const BOUNDS = 3;
export const OWNERS = BOUNDS + MAX_CHUNKS + 1;
export const SCHED_INTS = OWNERS + MAX_CHUNKS;

/**
 * Buffer replacement message, posted before the descriptor that first uses it: the data buffer, or
 * (`resident`) the arena of cached weights that stay in shared memory across calls (index.ts).
 */
export interface BufferMessage {
  gen: number;
  buffer: SharedArrayBuffer;
  resident?: boolean;
}

const WASM_VARIANTS: readonly (WasmVariant | null)[] = [null, 'simd', 'relaxed-simd', 'custom'];

/** A WebAssembly module variant as a control-block integer (0: none loaded). */
export function wasmVariantCode(v: WasmVariant | null): number {
  return WASM_VARIANTS.indexOf(v);
}

export function wasmVariantOfCode(code: number): WasmVariant | null {
  return WASM_VARIANTS[code] ?? null;
}

/** What the worker receives as workerData. */
export interface WorkerInit {
  control: SharedArrayBuffer;
  sched: SharedArrayBuffer;
  port: unknown;
  index: number;
  /** The calling thread's WebAssembly module (wasmVariantCode): the worker loads the same one. */
  wasmVariant?: number;
}

// Conv descriptor fields, after D_ARGS: kind, split, u0, u1, a/b/out element offsets, then the geometry.
export const GEOMETRY_KEYS = [
  'N', 'C', 'H', 'W', 'O', 'KH', 'KW', 'OH', 'OW', 'strideH', 'strideW', 'padH', 'padW', 'dilH', 'dilW', 'groups',
] as const;

export function writeError(control: Int32Array, bytes: Uint8Array, message: string): void {
  const encoded = new TextEncoder().encode(message);
  const n = Math.min(encoded.length, ERR_CAP);
  bytes.set(encoded.subarray(0, n), ERR_BYTE);
  control[ERR_LEN] = n;
}

export function readError(control: Int32Array, bytes: Uint8Array): string {
  const n = Math.max(0, Math.min(control[ERR_LEN]!, ERR_CAP));
  // TextDecoder refuses views of shared memory: copy out first.
  return new TextDecoder().decode(bytes.slice(ERR_BYTE, ERR_BYTE + n));
}

/**
 * How long the main thread polls for the workers' completion before blocking in Atomics.wait (the
 * workers are busy with their last chunks meanwhile, so this costs nothing and saves a wake-up).
 *
 * Workers do not poll for the next job: they block as soon as they are done. On this project's VM a
 * thread of the process running on the other vCPU makes page faults ~35x slower (allocating and
 * filling a fresh 8 MB Float32Array: 0.8 ms alone or beside a sleeping thread, 27-29 ms beside a
 * spinning one), and the engine allocates a fresh output tensor for every op: workers that kept
 * polling between kernel calls made ResNet-18 LRP's elementwise ops and garbage collection 1.5-3x
 * slower, far more than the microseconds a wake-up costs.
 */
export const SPIN_MS = 2;

/**
 * Polls arr[index] until it differs from `value` or `ms` have passed; returns the last value read.
 * The clock is read every few thousand polls only (reading it allocates, and a spinning thread
 * must not feed the garbage collector).
 */
export function spinWhileEqual(arr: Int32Array, index: number, value: number, ms: number): number {
  if (ms <= 0) return Atomics.load(arr, index);
  const until = performance.now() + ms;
  for (;;) {
    for (let i = 0; i < 4096; i++) {
      const v = Atomics.load(arr, index);
      if (v !== value) return v;
    }
    if (performance.now() >= until) return Atomics.load(arr, index);
  }
}
