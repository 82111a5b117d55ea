import { writeBytesAtomic, UnsafeOutputError } from '../node/index.js';
import { FileIoError } from '../engine/errors.js';

/** Writes `content` atomically (node/atomic-write.ts): readers never see a partial file. */
export function writeFileAtomic(path: string, content: string | Uint8Array): void {
  const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  try {
    writeBytesAtomic(path, bytes);
  } catch (err) {
    const why = err instanceof UnsafeOutputError ? `refused: ${err.reason}` : err instanceof Error ? err.message : String(err);
    throw new FileIoError(`cannot write '${path}': ${why}`, 'ERR_IO', { cause: err });
  }
}
