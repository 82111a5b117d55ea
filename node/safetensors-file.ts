import { readFileSync } from 'node:fs';
import { parseSafetensors, serializeSafetensors, SafetensorsError, type SafetensorsFile, type TensorCollection } from '../engine/safetensors.js';
import { writeBytesAtomic } from './atomic-write.js';
import { UnsafeOutputError, type OutputPathOptions } from './output-path.js';

export function readSafetensorsFile(path: string): SafetensorsFile {
  return parseSafetensors(readSafetensorsBytes(path), path);
}

/** The file's bytes, with a read failure worded as a SafetensorsError naming the path. */
export function readSafetensorsBytes(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (cause) {
    throw new SafetensorsError(path, `cannot read file (${errorText(cause)})`, undefined, { cause, io: true });
  }
}

/** Written atomically (atomic-write.ts): readers never see a partial file, and a failure leaves none behind. */
export function writeSafetensorsFile(path: string, tensors: TensorCollection, metadata?: Record<string, string>, opts: OutputPathOptions = {}): void {
  // Serialise first so invalid tensors fail before the filesystem is touched.
  const bytes = serializeSafetensors(tensors, metadata, path);
  writeSafetensorsBytes(path, bytes, opts);
}

/** Atomic write of already serialised safetensors bytes, with the error worded for safetensors. */
export function writeSafetensorsBytes(path: string, bytes: Uint8Array, opts: OutputPathOptions = {}): void {
  try {
    writeBytesAtomic(path, bytes, opts);
  } catch (cause) {
    const why = cause instanceof UnsafeOutputError ? `refused: ${cause.reason}` : errorText(cause);
    throw new SafetensorsError(path, `cannot write file (${why})`, undefined, { cause, io: true });
  }
}

function errorText(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}
