import { readFileSync } from 'node:fs';
import { writeBytesAtomic } from '../atomic-write.js';
import { SafetensorsError } from './errors.js';
import { parseSafetensors, type SafetensorsFile } from './parse.js';
import { serializeSafetensors, type TensorCollection } from './serialize.js';

export function readSafetensorsFile(path: string): SafetensorsFile {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (cause) {
    throw new SafetensorsError(path, `cannot read file (${errorText(cause)})`, undefined, { cause });
  }
  return parseSafetensors(bytes, path);
}

/** Written atomically (engine/atomic-write.ts): readers never see a partial file, and a failure leaves none behind. */
export function writeSafetensorsFile(path: string, tensors: TensorCollection, metadata?: Record<string, string>): void {
  // Serialise first so invalid tensors fail before the filesystem is touched.
  const bytes = serializeSafetensors(tensors, metadata, path);
  try {
    writeBytesAtomic(path, bytes);
  } catch (cause) {
    throw new SafetensorsError(path, `cannot write file (${errorText(cause)})`, undefined, { cause });
  }
}

function errorText(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}
