/**
 * JPEG decoding through jpeg-js (pure JavaScript), with typed arrays only so nothing here needs
 * Node's Buffer. jpeg-js replicates chroma samples instead of libjpeg's interpolating ("fancy")
 * upsampling, so at sharp colour edges its pixels differ from PIL's by up to a few tens of levels;
 * elsewhere by a level or two.
 */
import jpeg from 'jpeg-js';
import { ImageError, type Image } from './types.js';

/** Decodes JPEG bytes to RGB. `what` names the source in errors (e.g. a file path). */
export function decodeJpeg(bytes: Uint8Array, what = 'buffer'): Image {
  let decoded: { width: number; height: number; data: Uint8Array };
  try {
    decoded = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, tolerantDecoding: false });
  } catch (err) {
    throw new ImageError(`${what} is not a valid JPEG: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const { width, height, data } = decoded;
  if (data.length !== width * height * 3) {
    throw new ImageError(`${what} decoded to ${data.length} bytes, expected ${width}x${height} RGB`);
  }
  return { width, height, channels: 3, data };
}

export type ImageFormat = 'png' | 'jpeg';

/** The format the leading bytes announce, or null when they are neither PNG nor JPEG. */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat | null {
  if (bytes.length >= 8 && [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a].every((b, i) => bytes[i] === b)) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  return null;
}
