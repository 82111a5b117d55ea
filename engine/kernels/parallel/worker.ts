/**
 * Entry module of a kernel worker under Node's worker_threads (started by pool.ts): the job loop
 * of worker-loop.ts, with buffer messages pulled synchronously from the port.
 */
import { workerData, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { BufferMessage, WorkerInit } from './protocol.js';
import { serveKernelJobs } from './worker-loop.js';

const init = workerData as WorkerInit;
const port = init.port as MessagePort;

void serveKernelJobs(init, {
  take: () => receiveMessageOnPort(port)?.message as BufferMessage | undefined,
  onExit: (mark) => process.on('exit', mark),
});
