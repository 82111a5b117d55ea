import { writeBytesAtomic } from '../node/index.js';

/** Writes `content` atomically (node/atomic-write.ts): readers never see a partial file. */
export function writeFileAtomic(path: string, content: string | Uint8Array): void {
  const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  try {
    writeBytesAtomic(path, bytes);
  } catch (err) {
    throw new Error(`cannot write '${path}': ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}
