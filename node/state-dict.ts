import type { Tensor } from '../engine/index.js';
import { loadSafetensorsStateDict, serializeStateDict, type LoadStateOptions, type Module } from '../nn/index.js';
import { readSafetensorsBytes, writeSafetensorsBytes } from './safetensors-file.js';

/** Reads a safetensors file into a state dict (file order); errors name the path. */
export function readStateDictFile(path: string, opts: Omit<LoadStateOptions, 'source'> = {}): Map<string, Tensor> {
  return loadSafetensorsStateDict(readSafetensorsBytes(path), { ...opts, source: path });
}

/** Writes `module.stateDict()` (or a given dict) as a safetensors file, atomically. */
export function writeStateDictFile(path: string, module: Module | Map<string, Tensor>, metadata?: Record<string, string>): void {
  writeSafetensorsBytes(path, serializeStateDict(module, metadata, path));
}
