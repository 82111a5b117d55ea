/**
 * The slice of `node:worker_threads` the pool uses, declared here rather than imported from
 * @types/node: the published declarations of the core must compile in a project without Node's
 * types (a browser app with `skipLibCheck: false`).
 */
export interface PortLike {
  postMessage(message: unknown): void;
  close(): void;
  unref(): void;
}

export interface WorkerLike {
  on(event: 'error', listener: (err: unknown) => void): unknown;
  on(event: 'exit', listener: (code: number) => void): unknown;
  unref(): void;
  terminate(): Promise<number>;
}

export interface WorkerOptionsLike {
  eval: boolean;
  workerData: unknown;
  transferList: unknown[];
  execArgv: string[];
  name: string;
}

export interface WorkerThreadsLike {
  readonly isMainThread: boolean;
  Worker: new (source: string, options: WorkerOptionsLike) => WorkerLike;
  MessageChannel: new () => { port1: PortLike; port2: PortLike };
}
