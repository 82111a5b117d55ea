/**
 * PNG I/O through pngjs. Decoding always yields 8-bit RGBA (pngjs expands grey, palette and
 * 16-bit PNGs); encoding writes RGB images as colour type 2 and RGBA as colour type 6.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { PNG } from 'pngjs';
import { checkImage, type Image } from './types.js';

export class PngError extends Error {
  override name = 'PngError';
}

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

export function encodePng(img: Image): Buffer {
  checkImage(img);
  if (img.width === 0 || img.height === 0) {
    throw new PngError(`cannot encode an empty ${img.width}x${img.height} image: PNG needs at least 1x1`);
  }
  const colorType = img.channels === 4 ? 6 : 2;
  const png = new PNG();
  png.width = img.width;
  png.height = img.height;
  png.data = Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength);
  return PNG.sync.write(png, { colorType, inputColorType: colorType, inputHasAlpha: colorType === 6 });
}

export function readPng(path: string): Image {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new PngError(`cannot read PNG file '${path}': ${reason(err)}`, { cause: err });
  }
  return decodePng(bytes, `file '${path}'`);
}

/**
 * Encodes first, then writes a temp file in the target's directory and renames it over the
 * target: rename is atomic within a filesystem, so readers see the old file or the complete new
 * one, never a partial write, and a failed encode never touches the disk.
 */
export function writePng(path: string, img: Image): void {
  const bytes = encodePng(img);
  const target = resolve(path);
  const tmp = join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let created = false;
  try {
    const fd = openSync(tmp, 'wx');
    created = true;
    try {
      writeFileSync(fd, bytes);
      // Without fsync a crash after rename could leave the new name pointing at empty data.
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, target);
  } catch (err) {
    if (created) {
      try {
        unlinkSync(tmp);
      } catch {
        // The temp file is already gone; the original error is what matters.
      }
    }
    throw new PngError(`cannot write PNG file '${path}': ${reason(err)}`, { cause: err });
  }
}
