import type { Tensor } from '../engine/index.js';
import { loadSafetensorsStateDict, serializeStateDict, type LoadResult, type LoadStateOptions, type Module } from '../nn/index.js';
import { readSafetensorsBytes, writeSafetensorsBytes } from './safetensors-file.js';

/**
 * Reads a safetensors file into a state dict (file order); errors name the path. The tensors are
 * views into the buffer the file was read into (no copy; see `readSafetensorsBytes`), each over
 * its own bytes. `model.loadStateDict(dict)` copies them once more; `loadStateDictFile` does not.
 */
export function readStateDictFile(path: string, opts: Omit<LoadStateOptions, 'source' | 'shareBytes'> = {}): Map<string, Tensor> {
  return loadSafetensorsStateDict(readSafetensorsBytes(path), { ...opts, source: path, shareBytes: true });
}

/**
 * Loads a safetensors file into `module` with the weights in memory once: the file is read into
 * one buffer and each parameter of the file's dtype becomes a view of its bytes (disjoint ranges,
 * so an optimizer step on one parameter leaves the others alone); other dtypes are converted
 * (float32 file -> float64 model). As `readStateDictFile` + `module.loadStateDict(dict, {assign: true})`.
 */
export function loadStateDictFile(module: Module, path: string, opts: { prefix?: string; strict?: boolean } = {}): LoadResult {
  const dict = readStateDictFile(path, opts.prefix === undefined ? {} : { prefix: opts.prefix });
  return module.loadStateDict(dict, { strict: opts.strict ?? true, assign: true });
}

/** Writes `module.stateDict()` (or a given dict) as a safetensors file, atomically. */
export function writeStateDictFile(path: string, module: Module | Map<string, Tensor>, metadata?: Record<string, string>): void {
  writeSafetensorsBytes(path, serializeStateDict(module, metadata, path));
}
