import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { parseSafetensors, serializeSafetensors, SafetensorsError, type SafetensorsFile, type TensorCollection } from '../engine/safetensors.js';
import { writeBytesAtomic } from './atomic-write.js';
import { UnsafeOutputError, type OutputPathOptions } from './output-path.js';

/**
 * Reads and parses a safetensors file. The tensors' arrays are views into the one buffer the file
 * was read into (each its own byte range; the buffer lives as long as any of them), not copies.
 */
export function readSafetensorsFile(path: string): SafetensorsFile {
  return parseSafetensors(readSafetensorsBytes(path), path, { shareBytes: true });
}

/**
 * The file's bytes, with a read failure worded as a SafetensorsError naming the path. The bytes are
 * placed in a fresh buffer at an offset that puts the data section (after the 8-byte length and the
 * header) on an 8-byte boundary, so every tensor whose offset suits its dtype can be viewed in
 * place, whatever padding the writer gave the header.
 */
export function readSafetensorsBytes(path: string): Uint8Array {
  try {
    return readAligned(path);
  } catch (cause) {
    throw new SafetensorsError(path, `cannot read file (${errorText(cause)})`, undefined, { cause, io: true });
  }
}

/** Reads at most 1 GiB per call: some platforms cap one read() below 2 GiB. */
const READ_CHUNK = 1 << 30;

function readAligned(path: string): Uint8Array {
  const fd = openSync(path, 'r');
  try {
    const stat = fstatSync(fd);
    // Pipes and devices have no size to plan with: read them the ordinary way (parsing copies what it must).
    if (!stat.isFile()) return readFileSync(fd);
    const size = stat.size;
    const prefix = new Uint8Array(8);
    const got = readFully(fd, prefix, 0);
    // A short file is the parser's to reject, with its own message.
    if (got < 8) return prefix.subarray(0, got);
    const headerLength = new DataView(prefix.buffer).getBigUint64(0, true);
    const shift = Number((8n - ((8n + headerLength) % 8n)) % 8n);
    // allocUnsafeSlow: its own ArrayBuffer (never the shared pool), not zero-filled since every byte is read.
    const whole = Buffer.allocUnsafeSlow(shift + size);
    // The lead-in is reachable through `.buffer`: no stale process memory in it.
    whole.fill(0, 0, shift);
    const bytes = whole.subarray(shift);
    // A file that shrank since fstat is returned as read, and the parser reports it as truncated.
    return bytes.subarray(0, readFully(fd, bytes, 0));
  } finally {
    closeSync(fd);
  }
}

function readFully(fd: number, into: Uint8Array, position: number): number {
  let done = 0;
  while (done < into.length) {
    const n = readSync(fd, into, done, Math.min(READ_CHUNK, into.length - done), position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
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
