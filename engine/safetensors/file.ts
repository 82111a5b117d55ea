import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
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

/**
 * Readers never see a partial file: the bytes go to a uniquely named sibling
 * (same directory, hence same filesystem, so rename is atomic), are fsynced, and
 * only then renamed over the target. Any failure removes the temporary file.
 */
export function writeSafetensorsFile(path: string, tensors: TensorCollection, metadata?: Record<string, string>): void {
  // Serialise first so invalid tensors fail before the filesystem is touched.
  const bytes = serializeSafetensors(tensors, metadata, path);
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let fd: number | undefined;
  try {
    // 'wx' refuses to follow or clobber anything already at the temp name.
    fd = openSync(temp, 'wx', 0o644);
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(temp, path);
  } catch (cause) {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        // Already failing; the original error is the one worth reporting.
      }
    }
    try {
      unlinkSync(temp);
    } catch {
      // Usually ENOENT because openSync itself failed; nothing to clean up.
    }
    throw new SafetensorsError(path, `cannot write file (${errorText(cause)})`, undefined, { cause });
  }
}

function errorText(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}
