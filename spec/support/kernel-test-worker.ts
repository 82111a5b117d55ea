/**
 * A kernel worker entry for the specs of the failure paths: the shipped job loop (GEMM and
 * convolution jobs as in production) plus three jobs that fail on purpose, which
 * kernel-test-jobs.ts posts. Started instead of engine/kernels/parallel/worker.ts through
 * setKernelWorkerEntry, so no shipped file knows about them.
 */
import { workerData, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { BufferMessage, WorkerInit } from '../../engine/kernels/parallel/protocol.js';
import { serveKernelJobs, type ExtraJob } from '../../engine/kernels/parallel/worker-loop.js';
import { CONTROL_INTS } from '../../engine/kernels/parallel/protocol.js';
import { OP_EXIT, OP_HANG, OP_THROW } from './kernel-test-ops.js';

const init = workerData as WorkerInit;
const port = init.port as MessagePort;

const jobs = new Map<number, ExtraJob>([
  [OP_THROW, () => {
    throw new Error('test failure requested by runKernelWorkerTestJob');
  }],
  // Never reports back: the main thread's timeout must fire (and terminate() ends this loop).
  [OP_HANG, (control) => {
    for (;;) Atomics.wait(control, CONTROL_INTS - 1, 0, 1000);
  }],
  // Dies as a killed worker would, with its first chunk unfinished: the main thread must redo it.
  [OP_EXIT, () => process.exit(1)],
]);

void serveKernelJobs(init, {
  take: () => receiveMessageOnPort(port)?.message as BufferMessage | undefined,
  onExit: (mark) => process.on('exit', mark),
}, jobs);
