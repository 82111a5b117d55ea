import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { checkOutputPath, type OutputPathOptions } from './output-path.js';

/**
 * Readers never see a partial file: the bytes go to a uniquely named sibling (same directory, hence
 * same filesystem, so the rename is atomic), are fsynced, and only then renamed over `path`. Any
 * failure removes the temporary file and rethrows the original error for the caller to word.
 * `checkOutputPath` first: only a new path or a writable regular file that is none of `opts.inputs`.
 */
export function writeBytesAtomic(path: string, bytes: Uint8Array, opts: OutputPathOptions = {}): void {
  const target = checkOutputPath(path, opts);
  const temp = join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let fd: number | undefined;
  try {
    // 'wx' refuses to follow or clobber anything already at the temp name.
    fd = openSync(temp, 'wx', 0o644);
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(temp, target);
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
    throw cause;
  }
}
