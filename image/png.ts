/**
 * PNG encoding to bytes, platform-neutral (fflate's zlib stream; no Node built-in), so a browser or
 * a worker can produce the same files as Node. Decoding lives in the Node entry (`lrp-tape/node`,
 * through pngjs, which handles every PNG flavour but needs Node's zlib); browsers decode images
 * with their own image decoders (canvas / createImageBitmap).
 *
 * RGB images are written as colour type 2, RGBA as colour type 6, 8 bits per channel, each row
 * with the "Up" filter (deltas to the row above compress heatmaps and photos far better than raw
 * bytes, and cost one subtraction per byte).
 */
import { zlibSync } from 'fflate';
import { checkImage, type Image } from './types.js';
import { LrpTapeError, type ErrorCategory } from '../engine/errors.js';

/** A bad PNG (category 'data', code ERR_PNG) or a PNG file that cannot be read or written ('io', ERR_PNG_IO). */
export class PngError extends LrpTapeError {
  override name = 'PngError';
  readonly category: ErrorCategory;
  constructor(message: string, options?: { cause?: unknown }, category: 'data' | 'io' = 'data') {
    super(message, category === 'io' ? 'ERR_PNG_IO' : 'ERR_PNG', options);
    this.category = category;
  }
}

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes: Uint8Array, start: number, end: number): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** The PNG file's bytes for `img` (8-bit RGB or RGBA). */
export function encodePng(img: Image): Uint8Array {
  checkImage(img);
  const { width, height, channels } = img;
  if (width === 0 || height === 0) {
    throw new PngError(`cannot encode an empty ${width}x${height} image: PNG needs at least 1x1`);
  }
  const stride = width * channels;
  const filtered = new Uint8Array((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    const out = y * (stride + 1);
    const row = y * stride;
    if (y === 0) {
      filtered[out] = 0;
      filtered.set(img.data.subarray(row, row + stride), out + 1);
    } else {
      filtered[out] = 2;
      for (let i = 0; i < stride; i++) filtered[out + 1 + i] = (img.data[row + i]! - img.data[row - stride + i]!) & 0xff;
    }
  }
  const idat = zlibSync(filtered, { level: 6 });
  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  ihdr[8] = 8;
  ihdr[9] = channels === 4 ? 6 : 2;
  // ihdr[10..12]: deflate, adaptive filtering, no interlace (all zero).
  const chunks: Array<[string, Uint8Array]> = [['IHDR', ihdr], ['IDAT', idat], ['IEND', new Uint8Array(0)]];
  const total = SIGNATURE.length + chunks.reduce((n, [, d]) => n + 12 + d.length, 0);
  const png = new Uint8Array(total);
  const out = new DataView(png.buffer);
  png.set(SIGNATURE, 0);
  let p = SIGNATURE.length;
  for (const [type, data] of chunks) {
    out.setUint32(p, data.length);
    for (let i = 0; i < 4; i++) png[p + 4 + i] = type.charCodeAt(i);
    png.set(data, p + 8);
    out.setUint32(p + 8 + data.length, crc32(png, p + 4, p + 8 + data.length));
    p += 12 + data.length;
  }
  return png;
}
