/**
 * PNG files in Node: decoding through pngjs (every colour type, bit depth and interlacing; RGBA
 * out) and atomic writes of the core's encoder output.
 */
import { readFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import { encodePng, PngError, type Image } from '../image/index.js';
import { writeBytesAtomic } from './atomic-write.js';
import { UnsafeOutputError, type OutputPathOptions } from './output-path.js';

const reason = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Decodes PNG bytes to RGBA. `what` names the source in errors (e.g. a file path). */
export function decodePng(bytes: Uint8Array, what = 'buffer'): Image {
  let png: PNG;
  try {
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (err) {
    throw new PngError(`${what} is not a valid PNG: ${reason(err)}`, { cause: err });
  }
  const { width, height } = png;
  if (png.data.length !== width * height * 4) {
    throw new PngError(`${what} decoded to ${png.data.length} bytes, expected ${width}x${height} RGBA`);
  }
  // Copy out of pngjs's Buffer, which may be a view into a larger pooled allocation.
  return { width, height, channels: 4, data: new Uint8Array(png.data) };
}

export function readPng(path: string): Image {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new PngError(`cannot read PNG file '${path}': ${reason(err)}`, { cause: err }, 'io');
  }
  return decodePng(bytes, `file '${path}'`);
}

/** Encodes first (a failed encode never touches the disk), then writes atomically (atomic-write.ts). */
export function writePng(path: string, img: Image, opts: OutputPathOptions = {}): void {
  const bytes = encodePng(img);
  try {
    writeBytesAtomic(path, bytes, opts);
  } catch (err) {
    const why = err instanceof UnsafeOutputError ? `refused: ${err.reason}` : reason(err);
    throw new PngError(`cannot write PNG file '${path}': ${why}`, { cause: err }, 'io');
  }
}
