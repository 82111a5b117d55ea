/**
 * The job loop of a kernel worker, for both kinds of worker: Node's worker_threads (worker.ts) and
 * browsers' Web Workers (web-worker.ts). It loads the same kernels as the calling thread (gemm.ts,
 * conv.ts and, through them, the WebAssembly module), reports READY in its control block and then
 * serves jobs forever: Atomics.wait on SEQ, run the descriptor, write STATUS, store DONE, notify.
 * Every job runs single-threaded here (a worker never splits its tile again).
 *
 * `extraJobs` lets an entry module serve further job kinds (the specs' worker, which fails on
 * purpose, spec/support/kernel-test-worker.ts); shipped entries pass none.
 *
 * Buffer messages (a new data buffer or resident arena) are posted before the job that first needs
 * them. Node pulls them synchronously (receiveMessageOnPort); a Web Worker cannot, so there a job
 * whose buffer has not been delivered yet goes back to the event loop until the message event has
 * run (`source.wait`), then runs from the start: nothing is computed before the buffers are adopted.
 */
import type { FloatArray, ConvGeometry } from '../types.js';
import { kernels, setKernelBackend } from '../dispatch.js';
import { setWasmRelaxedSimd, wasmVariant } from '../wasm/index.js';
import { setKernelThreads } from './state.js';
import {
  STATE, SEQ, DONE, STATUS, WASM, D_OP, D_GEN, D_F64, D_WASM, D_ARGS, READY, EXITED, OK, ERROR,
  OP_GEMM, OP_CONV, GEOMETRY_KEYS, NEXT, COUNT, TAIL_READY, BOUNDS, OWNERS,
  writeError, wasmVariantCode, wasmVariantOfCode, type BufferMessage, type WorkerInit,
} from './protocol.js';
import { convTile, dimsOf, gemmChunk, type ConvFn, type ConvKind } from './tiles.js';

/** Where a worker's buffer messages come from. */
export interface BufferSource {
  /** The next message already delivered, if any (never blocks). */
  take(): BufferMessage | undefined;
  /** Web Workers: resolves once another message has been delivered (the event loop must run); Node: absent. */
  wait?: () => Promise<void>;
  /** Called when the worker's process is about to end (Node), so the calling thread stops waiting. */
  onExit?: (mark: () => void) => void;
}

/** A job kind beyond GEMM and convolution: runs with the worker's control block (its descriptor). */
export type ExtraJob = (control: Int32Array) => void;

class BufferNotYetDelivered extends Error {}

export function serveKernelJobs(init: WorkerInit, source: BufferSource, extraJobs?: ReadonlyMap<number, ExtraJob>): Promise<never> {
  const control = new Int32Array(init.control);
  const bytes = new Uint8Array(init.control);
  const sched = new Int32Array(init.sched);

  setKernelThreads(1);

  let gen = 0;
  let f32: Float32Array = new Float32Array(0);
  let f64: Float64Array = new Float64Array(0);

  let residentGen = 0;
  let residentF32: Float32Array = new Float32Array(0);
  let residentF64: Float64Array = new Float64Array(0);

  /**
   * Pulls buffer messages (posted before the job that needs them) until the data buffer's generation
   * `want` (and, when given, the resident arena's `wantResident`) has arrived.
   */
  function adoptBuffer(want: number, wantResident = residentGen): void {
    while (gen !== want || residentGen !== wantResident) {
      const msg = source.take();
      if (msg === undefined) {
        if (source.wait) throw new BufferNotYetDelivered();
        throw new Error(`buffer generation ${want}/${wantResident} was not posted (have ${gen}/${residentGen})`);
      }
      if (msg.resident) {
        residentGen = msg.gen;
        residentF32 = new Float32Array(msg.buffer);
        residentF64 = new Float64Array(msg.buffer);
      } else {
        gen = msg.gen;
        f32 = new Float32Array(msg.buffer);
        f64 = new Float64Array(msg.buffer);
      }
    }
  }

  const convFns: ConvFn[] = [kernels.conv2dForward, kernels.conv2dBackwardInput, kernels.conv2dBackwardWeight];

  /**
   * Runs this worker's first chunk (its index), then, once the main thread has staged the rest,
   * takes chunks until none is left, recording this worker as their owner.
   */
  function eachChunk(fn: (lo: number, hi: number) => void): void {
    const n = sched[COUNT]!;
    let c = init.index;
    if (c < n) {
      fn(sched[BOUNDS + c]!, sched[BOUNDS + c + 1]!);
      sched[OWNERS + c] = init.index;
    }
    while (Atomics.load(sched, TAIL_READY) === 0) Atomics.wait(sched, TAIL_READY, 0, 1000);
    for (;;) {
      c = Atomics.add(sched, NEXT, 1);
      if (c >= n) return;
      fn(sched[BOUNDS + c]!, sched[BOUNDS + c + 1]!);
      sched[OWNERS + c] = init.index;
    }
  }

  function run(): void {
    const op = control[D_OP]!;
    const extra = extraJobs?.get(op);
    if (extra) {
      extra(control);
      return;
    }
    adoptBuffer(control[D_GEN]!);
    setKernelBackend(control[D_WASM] === 1 ? 'wasm' : 'ts');
    const mem: FloatArray = control[D_F64] === 1 ? f64 : f32;
    let i = D_ARGS;
    const next = (): number => control[i++]!;
    if (op === OP_GEMM) {
      const transA = next() === 1, transB = next() === 1;
      const M = next(), N = next(), K = next();
      const byM = next() === 1;
      const a = next(), lda = next(), b = next(), ldb = next(), c = next(), ldc = next();
      const accumulate = next() === 1;
      eachChunk((lo, hi) => gemmChunk(kernels.gemm, byM, lo, hi, transA, transB, M, N, K, mem, a, lda, mem, b, ldb, mem, c, ldc, accumulate));
      return;
    }
    if (op === OP_CONV) {
      const kind = next() as ConvKind;
      const split = next();
      const offs = [next(), next(), next()];
      // b from the resident arena (offset >= 0, with the arena's generation) or from the data buffer.
      const residentB = next();
      const wantResident = next();
      const g = {} as Record<(typeof GEOMETRY_KEYS)[number], number>;
      for (const k of GEOMETRY_KEYS) g[k] = next();
      const geom = g as ConvGeometry;
      if (residentB >= 0) adoptBuffer(control[D_GEN]!, wantResident);
      const views = ([0, 1, 2] as const).map((arr) => {
        const d = dimsOf(kind, geom, arr);
        const size = d[0] * d[1] * d[2] * d[3];
        if (arr === 1 && residentB >= 0) return (control[D_F64] === 1 ? residentF64 : residentF32).subarray(residentB, residentB + size);
        return mem.subarray(offs[arr]!, offs[arr]! + size);
      });
      eachChunk((lo, hi) => convTile(kind, convFns[kind]!, views[0]!, views[1]!, views[2]!, geom, split, lo, hi));
      return;
    }
    throw new Error(`unknown job ${op}`);
  }

  source.onExit?.(() => {
    Atomics.store(control, STATE, EXITED);
    Atomics.notify(control, DONE);
    Atomics.notify(control, STATE);
  });

  // The calling thread's module variant, when it is an embedded one this worker loaded otherwise
  // (relaxed SIMD switched off there by setWasmRelaxedSimd, not by the shared environment).
  const wanted = init.wasmVariant === undefined ? null : wasmVariantOfCode(init.wasmVariant);
  if ((wanted === 'simd' || wanted === 'relaxed-simd') && wasmVariant() !== wanted) setWasmRelaxedSimd(wanted === 'relaxed-simd');
  control[WASM] = wasmVariantCode(wasmVariant());
  Atomics.store(control, STATE, READY);
  Atomics.notify(control, STATE);

  return (async (): Promise<never> => {
    let seen = 0;
    for (;;) {
      // Block right away (no polling: see SPIN_MS in protocol.ts).
      Atomics.wait(control, SEQ, seen);
      const seq = Atomics.load(control, SEQ);
      if (seq === seen) continue;
      seen = seq;
      try {
        for (;;) {
          try {
            run();
            break;
          } catch (e) {
            if (!(e instanceof BufferNotYetDelivered)) throw e;
            await source.wait!();
          }
        }
        control[STATUS] = OK;
      } catch (e) {
        writeError(control, bytes, e instanceof Error ? (e.stack ?? e.message) : String(e));
        control[STATUS] = ERROR;
      }
      Atomics.store(control, DONE, seq);
      Atomics.notify(control, DONE);
    }
  })();
}
