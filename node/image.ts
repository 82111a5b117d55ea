/** Image files by their signature: PNG through pngjs, JPEG through the core's jpeg-js decoder. */
import { readFileSync } from 'node:fs';
import { decodeJpeg, ImageError, sniffImageFormat, type Image } from '../image/index.js';
import { decodePng } from './png.js';

/** Decodes a PNG (kept RGBA) or a JPEG (RGB) by its leading bytes, whatever the file name says. */
export function decodeImage(bytes: Uint8Array, what = 'buffer'): Image {
  const format = sniffImageFormat(bytes);
  if (format === 'png') return decodePng(bytes, what);
  if (format === 'jpeg') return decodeJpeg(bytes, what);
  throw new ImageError(`${what} is not an image: it starts with neither the PNG nor the JPEG signature`);
}

export function readImage(path: string): Image {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : err instanceof Error ? err.message : String(err);
    throw new ImageError(`cannot read image '${path}': ${why}`, { cause: err });
  }
  return decodeImage(bytes, `image '${path}'`);
}
