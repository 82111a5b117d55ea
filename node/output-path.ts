import { accessSync, constants, lstatSync, statSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { FileIoError, safeName } from '../engine/errors.js';

/**
 * The one rule for every file the library or the CLI writes (PNG, HTML report, safetensors,
 * conformance output): write only to a new path, or over an existing regular file that is not one
 * of the command's inputs and whose mode bits allow writing. An atomic rename would otherwise
 * replace whatever sits there: a FIFO, a device node (as root, /dev/null would become a regular
 * file), a symbolic link (the link replaced, its target left), a read-only file, or the input the
 * command is reading. Root is held to the mode bits too.
 */
export class UnsafeOutputError extends FileIoError {
  override name = 'UnsafeOutputError';
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`refusing to write '${safeName(path, 300)}': ${reason}`, 'ERR_UNSAFE_OUTPUT');
  }
}

export interface OutputPathOptions {
  /** Files the command reads: the output may not be any of them (compared by device and inode, so links count). */
  inputs?: readonly (string | undefined)[];
  /** Also refuse a path whose folder does not exist (the CLI checks before long work; a writer lets the open report ENOENT). */
  requireFolder?: boolean;
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new UnsafeOutputError(path, `cannot inspect it (${(e as Error).message})`);
  }
}

function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** Throws UnsafeOutputError (a FileIoError) when `path` may not be written; returns the resolved path. */
export function checkOutputPath(path: string, opts: OutputPathOptions = {}): string {
  if (typeof path !== 'string' || path === '') throw new UnsafeOutputError(String(path), 'the output path is empty');
  const target = resolve(path);
  const dir = dirname(target);
  const dirStat = (() => {
    try {
      return statSync(dir);
    } catch {
      return null;
    }
  })();
  if (!dirStat) {
    if (opts.requireFolder) throw new UnsafeOutputError(path, `folder '${safeName(dir, 300)}' does not exist`);
    return target;
  }
  if (!dirStat.isDirectory()) throw new UnsafeOutputError(path, `'${safeName(dir, 300)}' is not a folder`);
  const st = lstatOrNull(target);
  if (st === null) return target;
  if (st.isSymbolicLink()) throw new UnsafeOutputError(path, 'it is a symbolic link (the link would be replaced, not its target)');
  if (!st.isFile()) throw new UnsafeOutputError(path, `it is ${kindOf(st)}, not a regular file`);
  if ((st.mode & 0o222) === 0) throw new UnsafeOutputError(path, 'it is read-only (no write permission bit set)');
  try {
    accessSync(target, constants.W_OK);
  } catch {
    throw new UnsafeOutputError(path, 'it is not writable by this user');
  }
  for (const input of opts.inputs ?? []) {
    if (!input) continue;
    let inStat: Stats;
    try {
      inStat = statSync(input);
    } catch {
      continue;
    }
    if (inStat.dev === st.dev && inStat.ino === st.ino) {
      throw new UnsafeOutputError(path, `it is the command's input '${safeName(input, 300)}'`);
    }
  }
  return target;
}
