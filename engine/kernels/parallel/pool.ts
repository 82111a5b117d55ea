/**
 * The kernel worker pool: persistent `worker_threads` workers, a control block per worker and one
 * data SharedArrayBuffer that holds the operands and results of the workers' tiles (protocol.ts).
 *
 * The workers are unref'd (they never keep a process alive), started lazily by the first kernel
 * call large enough to be split, and used from the first call after all of them have loaded: a call
 * never waits for workers to start. Everything here is synchronous: the kernels are synchronous
 * functions, so the main thread posts descriptors, computes its own tile and then blocks in
 * `Atomics.wait` (with a timeout) until every worker has finished.
 */
import type { PortLike, WorkerLike, WorkerThreadsLike } from './worker-threads.js';
import {
  STATE, SEQ, DONE, STATUS, WASM, D_OP, D_GEN, D_F64, D_WASM, READY, FAILED, EXITED, STARTING, ERROR,
  CONTROL_BYTES, SPIN_MS, spinWhileEqual, NEXT, COUNT, TAIL_READY, BOUNDS, OWNERS, MAX_CHUNKS, SCHED_INTS, readError, wasmVariantCode, type BufferMessage, type WorkerInit,
} from './protocol.js';
import { ResidentArena } from './resident.js';
import { BOOTSTRAP, workerEntry } from './start.js';
import { InternalError } from '../../errors.js';
import { wasmVariant, type WasmVariant } from '../wasm/index.js';

type WT = WorkerThreadsLike;

interface Slot {
  worker: WorkerLike;
  control: Int32Array;
  bytes: Uint8Array;
  port: PortLike;
  seq: number;
  gen: number;
  /** The resident arena generation this worker has been sent. */
  residentGen: number;
}

let baseTimeoutMs = 60_000;

/**
 * How long the main thread waits for the workers beyond 20x its own share's time before it gives
 * up with an Error (and shuts the pool down). For specs; returns the previous value.
 */
export function setKernelWorkerTimeout(ms: number): number {
  const prev = baseTimeoutMs;
  baseTimeoutMs = Math.max(1, ms);
  return prev;
}

function timeoutFor(ownMs: number): number {
  return baseTimeoutMs + 20 * ownMs;
}

const MIB = 1 << 20;
/** The data buffer never grows beyond this; larger jobs run on one thread. */
export const MAX_DATA_BYTES = 1024 * MIB;

export class KernelWorkerError extends InternalError {
  override name = 'KernelWorkerError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'ERR_KERNEL_WORKER', options);
  }
}

export class Pool {
  readonly slots: Slot[] = [];
  data: SharedArrayBuffer | null = null;
  f32: Float32Array = new Float32Array(0);
  f64: Float64Array = new Float64Array(0);
  gen = 0;
  busy = false;
  readonly sched = new Int32Array(new SharedArrayBuffer(SCHED_INTS * 4));
  /** Cached convolution weights in shared memory (resident.ts). */
  readonly resident = new ResidentArena();
  private allReady = false;
  /** Set when a worker failed to load, died or timed out: the pool is unusable and shut down. */
  failure: string | null = null;

  constructor(readonly size: number, wt: WT) {
    const { entry, tsx } = workerEntry();
    for (let i = 0; i < size; i++) {
      const controlBuffer = new SharedArrayBuffer(CONTROL_BYTES);
      const { port1, port2 } = new wt.MessageChannel();
      const init: WorkerInit & { entry: string; tsx: string | null } = {
        control: controlBuffer,
        sched: this.sched.buffer as SharedArrayBuffer,
        port: port2,
        index: i + 1,
        wasmVariant: wasmVariantCode(wasmVariant()),
        entry,
        tsx,
      };
      const worker = new wt.Worker(BOOTSTRAP, {
        eval: true,
        workerData: init,
        transferList: [port2],
        // Not the parent's flags: the loader (if any) is registered by the bootstrap itself, and
        // process-wide flags of the parent are no business of a kernel worker.
        execArgv: [],
        name: `lrp-tape kernels ${i + 1}`,
      });
      const slot: Slot = { worker, control: new Int32Array(controlBuffer), bytes: new Uint8Array(controlBuffer), port: port1, seq: 0, gen: 0, residentGen: 0 };
      // Events reach us only when the main thread's event loop runs; they are a backstop for the
      // control block (a worker that dies reports EXITED there itself when it can).
      worker.on('error', (e: unknown) => {
        this.failure ??= `kernel worker ${i + 1} crashed: ${e instanceof Error ? e.message : String(e)}`;
        Atomics.store(slot.control, STATE, FAILED);
      });
      worker.on('exit', () => {
        if (Atomics.load(slot.control, STATE) !== FAILED) Atomics.store(slot.control, STATE, EXITED);
      });
      worker.unref();
      port1.unref();
      this.slots.push(slot);
    }
  }

  /** True once every worker has loaded; records a failure (and returns false) when one could not. */
  ready(): boolean {
    if (this.allReady) return this.failure === null && this.alive();
    if (this.failure !== null) return false;
    for (const [i, s] of this.slots.entries()) {
      const st = Atomics.load(s.control, STATE);
      if (st === FAILED || st === EXITED) {
        this.failure = `kernel worker ${i + 1} could not start: ${readError(s.control, s.bytes) || 'it exited'}`;
        return false;
      }
      if (st !== READY) return false;
    }
    this.allReady = true;
    return true;
  }

  private alive(): boolean {
    for (const [i, s] of this.slots.entries()) {
      if (Atomics.load(s.control, STATE) !== READY) {
        this.failure ??= `kernel worker ${i + 1} exited`;
        return false;
      }
    }
    return true;
  }

  /** Blocks until every worker is ready or failed, at most timeoutMs in all. */
  waitReady(timeoutMs: number): boolean {
    const deadline = Date.now() + timeoutMs;
    for (const s of this.slots) {
      for (;;) {
        const st = Atomics.load(s.control, STATE);
        if (st !== STARTING) break;
        const left = deadline - Date.now();
        if (left <= 0) return false;
        Atomics.wait(s.control, STATE, STARTING, Math.min(left, 100));
      }
    }
    return this.ready();
  }

  /** Whether every worker runs this WebAssembly module variant (the main thread must not mix kernel sets). */
  workersHaveWasm(variant: WasmVariant | null): boolean {
    const code = wasmVariantCode(variant);
    return code > 0 && this.slots.every((s) => s.control[WASM] === code);
  }

  /** Makes the data buffer at least `bytes` long; false when that would pass MAX_DATA_BYTES. */
  reserve(bytes: number): boolean {
    if (this.data && this.data.byteLength >= bytes) return true;
    if (bytes > MAX_DATA_BYTES) return false;
    const size = Math.min(MAX_DATA_BYTES, Math.max(4 * MIB, Math.ceil((bytes * 1.25) / MIB) * MIB));
    let buffer: SharedArrayBuffer;
    try {
      buffer = new SharedArrayBuffer(size);
    } catch {
      return false;
    }
    this.data = buffer;
    this.f32 = new Float32Array(buffer);
    this.f64 = new Float64Array(buffer);
    this.gen++;
    return true;
  }

  /**
   * Posts a job to worker `i`: `fill` writes the descriptor's job fields (from D_ARGS on). The
   * data buffer goes along first when the worker has not seen this generation yet.
   */
  post(i: number, op: number, f64: boolean, wasm: boolean, fill: (control: Int32Array) => void): void {
    const s = this.slots[i]!;
    if (s.gen !== this.gen) {
      const msg: BufferMessage = { gen: this.gen, buffer: this.data! };
      s.port.postMessage(msg);
      s.gen = this.gen;
    }
    const arena = this.resident;
    if (arena.buffer !== null && s.residentGen !== arena.gen) {
      const msg: BufferMessage = { gen: arena.gen, buffer: arena.buffer, resident: true };
      s.port.postMessage(msg);
      s.residentGen = arena.gen;
    }
    const c = s.control;
    c[D_OP] = op;
    c[D_GEN] = this.gen;
    c[D_F64] = f64 ? 1 : 0;
    c[D_WASM] = wasm ? 1 : 0;
    fill(c);
    s.seq = (s.seq + 1) | 0 || 1;
    Atomics.store(c, SEQ, s.seq);
    Atomics.notify(c, SEQ, 1);
  }

  /**
   * Runs one job: the chunks `bounds` (at most MAX_CHUNKS) are shared out between the main thread
   * (`mainChunk`, called for each chunk it takes) and every worker (the job posted by `post`).
   * `stage(c)` copies chunk c's operands into shared memory: the workers' first chunks before they
   * are woken, the rest right after (chunk 0 is the main thread's own and is never staged unless
   * `stageMain`). Returns each chunk's owner: 0 for the main thread, i + 1 for worker i. Throws
   * (after all the workers have stopped touching shared memory, or the pool is shut down) when a
   * worker failed.
   */
  runChunks(
    bounds: readonly number[],
    stage: (c: number) => void,
    post: (worker: number) => void,
    mainChunk: (lo: number, hi: number) => void,
    what: string,
    stageMain = false,
  ): Int32Array {
    const n = bounds.length - 1;
    if (n > MAX_CHUNKS) throw new RangeError(`${n} chunks (at most ${MAX_CHUNKS})`);
    const sc = this.sched;
    for (let c = 0; c <= n; c++) sc[BOUNDS + c] = bounds[c]!;
    sc.fill(-1, OWNERS, OWNERS + n);
    sc[COUNT] = n;
    Atomics.store(sc, TAIL_READY, 0);
    Atomics.store(sc, NEXT, this.size + 1);
    const posted: number[] = [];
    const t0 = Date.now();
    let dead: number[] = [];
    try {
      for (let w = 0; w < this.size; w++) {
        if (w + 1 < n) stage(w + 1);
        post(w);
        posted.push(w);
      }
      if (stageMain) stage(0);
      for (let c = this.size + 1; c < n; c++) stage(c);
      Atomics.store(sc, TAIL_READY, 1);
      Atomics.notify(sc, TAIL_READY);
      for (let c = 0; c < n; c = Atomics.add(sc, NEXT, 1)) {
        mainChunk(bounds[c]!, bounds[c + 1]!);
        sc[OWNERS + c] = 0;
      }
    } finally {
      // Never leave a worker waiting for operands that will not come.
      Atomics.store(sc, TAIL_READY, 1);
      Atomics.notify(sc, TAIL_READY);
      dead = this.wait(posted, timeoutFor(Date.now() - t0), what);
    }
    if (dead.length) this.recoverLostChunks(n, bounds, stage, mainChunk, dead, what);
    return sc.slice(OWNERS, OWNERS + n);
  }

  /**
   * A worker died (killed, out of memory) during a job: the chunks nobody finished (owner still
   * -1, the dead worker's included) are computed again on the main thread, each re-staged first
   * (a half-finished accumulate may have written into its shared cut), the pool is shut down (the
   * next large call starts a new one) and one line says so.
   */
  private recoverLostChunks(
    n: number,
    bounds: readonly number[],
    stage: (c: number) => void,
    mainChunk: (lo: number, hi: number) => void,
    dead: readonly number[],
    what: string,
  ): void {
    const sc = this.sched;
    let lost = 0;
    for (let c = 0; c < n; c++) {
      if (sc[OWNERS + c] !== -1) continue;
      stage(c);
      mainChunk(bounds[c]!, bounds[c + 1]!);
      sc[OWNERS + c] = 0;
      lost++;
    }
    this.failure ??= `kernel worker ${dead.map((i) => i + 1).join(', ')} exited during a ${what}`;
    this.shutdown();
    const p = (globalThis as { process?: { emitWarning?: (m: string) => void } }).process;
    p?.emitWarning?.(`lrp-tape: ${this.failure}; its ${lost} unfinished part(s) were computed on the main thread and a new pool starts at the next large call`);
  }

  /**
   * Waits until workers `indices` have finished their jobs or died (returned: their lost work is
   * the caller's to redo); throws when one reported an error, or took longer than timeoutMs (the
   * pool is then shut down: a hung worker must not write into a buffer that later jobs use). A
   * dying worker marks its control block EXITED itself (worker.ts), which wakes this wait at once;
   * the 'exit' event is the backstop once the event loop runs.
   */
  wait(indices: readonly number[], timeoutMs: number, what: string): number[] {
    const deadline = Date.now() + timeoutMs;
    const errors: string[] = [];
    const dead: number[] = [];
    for (const i of indices) {
      const s = this.slots[i]!;
      const prevDone = Atomics.load(s.control, DONE);
      if (prevDone !== s.seq) spinWhileEqual(s.control, DONE, prevDone, SPIN_MS);
      for (;;) {
        const done = Atomics.load(s.control, DONE);
        if (done === s.seq) break;
        const st = Atomics.load(s.control, STATE);
        if (st !== READY) {
          dead.push(i);
          break;
        }
        const left = deadline - Date.now();
        if (left <= 0) {
          this.failure = `kernel worker ${i + 1} did not finish its part of a ${what} within ${Math.round(timeoutMs)} ms`;
          this.shutdown();
          throw new KernelWorkerError(`lrp-tape: ${this.failure}; the kernel worker pool was shut down (the next large kernel call starts a new one)`);
        }
        Atomics.wait(s.control, DONE, done, Math.min(left, 250));
      }
      if (!dead.includes(i) && s.control[STATUS] === ERROR) errors.push(`worker ${i + 1}: ${readError(s.control, s.bytes)}`);
    }
    if (errors.length) throw new KernelWorkerError(`lrp-tape: a kernel worker failed during a ${what}: ${errors.join('; ')}`);
    return dead;
  }

  shutdown(): void {
    for (const s of this.slots) {
      try {
        void s.worker.terminate();
      } catch {
        // already gone
      }
      s.port.close();
    }
  }
}
