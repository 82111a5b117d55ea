/**
 * Which kernel set (TypeScript or WebAssembly SIMD) and how many threads the engine uses, found
 * without depending on names that may not exist yet: the engine barrel and every module in
 * engine/kernels/ are scanned for a getter / setter; the environment switch LRP_TAPE_KERNELS is the
 * fallback. Import this module only after LRP_TAPE_KERNELS has its final value (run.ts sets it from
 * --kernels before importing anything of the engine).
 */
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

type Fn = (...args: unknown[]) => unknown;

const KERNEL_GETTER = /^(get)?(active|current)?kernel(s|set|backend|sinuse)?(backend|name|set)?$/i;
const KERNEL_SETTER = /^(set|use)(kernel|kernels)(backend|set)?$/i;
const THREAD_GETTER = /^(get)?(kernel)?(num)?threads(count)?$/i;
const THREAD_SETTER = /^set(kernel)?(num)?threads(count)?$/i;
/** Names tried first (the engine's own), before the patterns above. */
const KNOWN = {
  kernelsGet: 'getKernelBackend',
  kernelsSet: 'setKernelBackend',
  threadsGet: 'getKernelThreads',
  threadsSet: 'setKernelThreads',
  threadsStart: 'startKernelWorkers',
} as const;

interface Found {
  kernelsGet?: { name: string; fn: Fn };
  kernelsSet?: { name: string; fn: Fn };
  threadsGet?: { name: string; fn: Fn };
  threadsSet?: { name: string; fn: Fn };
  /** Starts the worker pool and waits until it is ready (kernel calls never wait for it). */
  threadsStart?: { name: string; fn: Fn };
}

let found: Found | null = null;

async function scan(): Promise<Found> {
  if (found) return found;
  const f: Found = {};
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', 'engine');
  const modules = [join(root, 'index.ts'), join(root, 'kernels', 'wasm', 'index.ts'), join(root, 'kernels', 'parallel', 'index.ts')];
  try {
    for (const file of readdirSync(join(root, 'kernels'))) {
      if (file.endsWith('.ts') && !file.endsWith('.d.ts') && !file.includes('.spec.')) modules.push(join(root, 'kernels', file));
    }
  } catch {
    // no kernels folder: nothing more to scan
  }
  for (const m of modules) {
    let ns: Record<string, unknown>;
    if (!existsSync(m)) continue;
    try {
      // The .ts path is what tsx resolves; the engine is imported through its barrel elsewhere.
      ns = (await import(pathToFileURL(m).href)) as Record<string, unknown>;
    } catch {
      continue;
    }
    for (const [slot, name] of Object.entries(KNOWN) as [keyof Found, string][]) {
      if (!f[slot] && typeof ns[name] === 'function') f[slot] = { name, fn: ns[name] as Fn };
    }
    for (const [name, v] of Object.entries(ns)) {
      if (typeof v !== 'function' || /^[A-Z]/.test(name)) continue;
      const fn = v as Fn;
      if (!f.kernelsSet && KERNEL_SETTER.test(name)) f.kernelsSet = { name, fn };
      else if (!f.kernelsGet && KERNEL_GETTER.test(name) && fn.length === 0) f.kernelsGet = { name, fn };
      else if (!f.threadsSet && THREAD_SETTER.test(name)) f.threadsSet = { name, fn };
      else if (!f.threadsGet && THREAD_GETTER.test(name) && fn.length === 0) f.threadsGet = { name, fn };
    }
  }
  found = f;
  return f;
}

export interface BackendInfo {
  /** 'ts' | 'wasm' (or whatever the engine's getter reports). */
  kernels: string;
  /** Where `kernels` came from: the engine's getter (named), or the environment / default. */
  kernelsSource: string;
  /** Threads the engine actually uses: its getter's answer, or 1 when it has no thread setting. */
  threadsUsed: number;
  threadsSource: string;
}

function describe(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && 'name' in v && typeof (v as { name: unknown }).name === 'string') return (v as { name: string }).name;
  return null;
}

/**
 * Applies --kernels / --threads where the engine offers a setter (only when given: otherwise the
 * engine's defaults stay), then reports what is in use.
 */
export async function configureBackend(opts: { kernels?: string; threads?: number }): Promise<BackendInfo> {
  const f = await scan();
  if (opts.kernels && f.kernelsSet) f.kernelsSet.fn(opts.kernels);
  if (opts.threads !== undefined && f.threadsSet) f.threadsSet.fn(opts.threads);
  // Workers load in the background at the first large kernel call; start them now so that the
  // warm-up and every timed run see the same thread count.
  if (f.threadsStart) f.threadsStart.fn();
  let kernels: string | null = null;
  let kernelsSource = 'env LRP_TAPE_KERNELS';
  if (f.kernelsGet) {
    try {
      kernels = describe(f.kernelsGet.fn());
      if (kernels) kernelsSource = `engine ${f.kernelsGet.name}()`;
    } catch {
      kernels = null;
    }
  }
  if (!kernels) {
    kernels = process.env.LRP_TAPE_KERNELS || 'ts';
    if (!process.env.LRP_TAPE_KERNELS) kernelsSource = 'default (no LRP_TAPE_KERNELS, no engine getter)';
  }
  let threadsUsed = 1;
  let threadsSource = 'engine is single-threaded (no thread setting found)';
  if (f.threadsGet) {
    const t = Number(f.threadsGet.fn());
    if (Number.isFinite(t) && t > 0) {
      threadsUsed = t;
      threadsSource = `engine ${f.threadsGet.name}()`;
    }
  } else if (f.threadsSet && opts.threads !== undefined) {
    threadsUsed = opts.threads;
    threadsSource = `engine ${f.threadsSet.name}(${opts.threads})`;
  }
  if (f.threadsSet && opts.threads !== undefined && f.threadsGet) threadsSource += ` after ${f.threadsSet.name}(${opts.threads})`;
  return { kernels, kernelsSource, threadsUsed, threadsSource };
}
