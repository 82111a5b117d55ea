import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import fc from 'fast-check';
import { parseSafetensors } from '../../engine/safetensors.js';
import {
  centerCrop,
  decodeJpeg,
  IMAGENET_PREPROCESS,
  ImageError,
  preprocess,
  resize,
  resizeAntialiased,
  resizeShorterSide,
  shorterSideSize,
  sniffImageFormat,
  type Image,
} from '../../image/index.js';
import { decodeImage, readImage } from '../../node/index.js';

// torchvision 0.21 + PIL 11.1 on the same picture as PNG and JPEG (spec/fixtures/preprocess/README.md).
const DIR = new URL('../fixtures/preprocess/', import.meta.url);
const fixture = parseSafetensors(readFileSync(new URL('preprocess.safetensors', DIR)), 'preprocess.safetensors');
const u8 = (name: string): Uint8Array => fixture.tensors.get(name)!.data as Uint8Array;
const f32 = (name: string): Float32Array => fixture.tensors.get(name)!.data as Float32Array;
const source = (src: 'png' | 'jpg'): Image => decodeImage(readFileSync(new URL(`image.${src}`, DIR)), `image.${src}`);

/** Per-value absolute differences between an image (any channel count) and HWC RGB reference bytes. */
function levelDiffs(img: Image, want: Uint8Array): number[] {
  expect(img.width * img.height * 3).to.equal(want.length);
  const d: number[] = [];
  for (let p = 0; p < img.width * img.height; p++) {
    for (let c = 0; c < 3; c++) d.push(Math.abs(img.data[p * img.channels + c]! - want[p * 3 + c]!));
  }
  return d;
}
const share = (d: number[], ok: (v: number) => boolean): number => d.filter(ok).length / d.length;
const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  expect(a.length).to.equal(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};
const asImage = (data: Uint8Array, width: number, height: number): Image => ({ width, height, channels: 3, data });

describe('torchvision preprocessing (Resize 256, CenterCrop 224, Normalize)', () => {
  it('resizes the PNG like PIL: within 1 level on 99% of values and 2 everywhere', () => {
    const r = resizeShorterSide(source('png'), 256);
    expect([r.width, r.height]).to.deep.equal([341, 256]);
    const d = levelDiffs(r, u8('png/resize256'));
    expect(share(d, (v) => v <= 1)).to.be.at.least(0.99);
    expect(d.reduce((a, b) => Math.max(a, b), 0)).to.be.at.most(2);
  });

  it('center-crops at torchvision\'s offsets (Python rounds 58.5 to 58)', () => {
    const crop = centerCrop(asImage(u8('png/resize256'), 341, 256), 224);
    expect(Buffer.from(crop.data).equals(Buffer.from(u8('png/crop224')))).to.equal(true);
  });

  it('normalises a crop exactly as ToTensor + Normalize in float32', () => {
    const { data } = preprocess(asImage(u8('png/crop224'), 224, 224), { mean: IMAGENET_PREPROCESS.mean, std: IMAGENET_PREPROCESS.std });
    expect(maxAbsDiff(data, f32('png/imagenet'))).to.be.at.most(1e-6);
  });

  it('turns the PNG into the model input within 0.02 of torchvision\'s tensor', () => {
    const { image, data } = preprocess(source('png'), IMAGENET_PREPROCESS);
    expect([image.width, image.height]).to.deep.equal([224, 224]);
    expect(maxAbsDiff(data, f32('png/imagenet'))).to.be.at.most(0.02);
  });

  it('decodes the JPEG close to libjpeg: median 1 level, mean under 2 after the resize', () => {
    // jpeg-js replicates chroma where libjpeg interpolates it, so colour edges differ more (image/jpeg.ts).
    const img = source('jpg');
    expect([img.width, img.height, img.channels]).to.deep.equal([500, 375, 3]);
    const d = levelDiffs(resizeShorterSide(img, 256), u8('jpg/resize256')).sort((a, b) => a - b);
    expect(d[Math.floor(d.length / 2)]).to.be.at.most(1);
    expect(d.reduce((a, b) => a + b, 0) / d.length).to.be.below(2);
    const { data } = preprocess(img, IMAGENET_PREPROCESS);
    const want = f32('jpg/imagenet');
    let sum = 0;
    for (let i = 0; i < want.length; i++) sum += Math.abs(data[i]! - want[i]!);
    expect(sum / want.length).to.be.below(2 / 255 / 0.224);
  });

  it('keeps the shorter side for portrait and landscape images, truncating the longer one like int()', () => {
    expect(shorterSideSize(500, 375, 256)).to.deep.equal({ width: 341, height: 256 });
    expect(shorterSideSize(375, 500, 256)).to.deep.equal({ width: 256, height: 341 });
    expect(shorterSideSize(300, 300, 224)).to.deep.equal({ width: 224, height: 224 });
  });

  it('keeps a constant image constant at any size (the fixed-point weights sum to one)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 60 }), fc.integer({ min: 1, max: 60 }), fc.integer({ min: 0, max: 255 }), (w, h, ow, oh, v) => {
        const img = asImage(new Uint8Array(w * h * 3).fill(v), w, h);
        const r = resizeAntialiased(img, ow, oh);
        return r.data.every((x) => x === v);
      }),
      { numRuns: 60 },
    );
  });

  it('upscales like plain pixel-centre bilinear (no footprint to average), within rounding', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 12 }), fc.integer({ min: 2, max: 12 }), fc.integer({ min: 0, max: 1000 }), (w, h, seed) => {
        const data = new Uint8Array(w * h * 3).map((_, i) => (i * 97 + seed * 31) % 256);
        const img = asImage(data, w, h);
        const a = resizeAntialiased(img, w * 2 + 1, h * 3);
        const b = resize(img, { width: w * 2 + 1, height: h * 3 });
        return maxAbsDiff(a.data, b.data) <= 1;
      }),
      { numRuns: 40 },
    );
  });

  it('averages over the whole footprint when shrinking (a 4:1 stripe pattern becomes its mean)', () => {
    const w = 64;
    const data = new Uint8Array(w * 3);
    for (let x = 0; x < w; x++) data.fill(x % 4 === 0 ? 255 : 0, x * 3, x * 3 + 3);
    const r = resizeAntialiased(asImage(data, w, 1), 8, 1);
    // Each output pixel covers 8 inputs (2 bright) with a triangle of support 16: the mean, 255/4, to within a level.
    for (let x = 1; x < 7; x++) expect(Math.abs(r.data[x * 3]! - 255 / 4)).to.be.at.most(1.5);
  });

  it('names what is wrong with bad input', () => {
    expect(sniffImageFormat(new TextEncoder().encode('hello, not an image'))).to.equal(null);
    expect(() => decodeImage(new TextEncoder().encode('hello, not an image'), "file 'notes.txt'")).to.throw(ImageError, "file 'notes.txt' is not an image");
    const jpg = readFileSync(new URL('image.jpg', DIR));
    expect(() => decodeJpeg(jpg.subarray(0, 200), "file 'cut.jpg'")).to.throw(ImageError, "file 'cut.jpg' is not a valid JPEG");
    expect(() => readImage('spec/fixtures/preprocess/README.md')).to.throw(ImageError, "image 'spec/fixtures/preprocess/README.md' is not an image");
    expect(() => readImage('spec/fixtures/preprocess/missing.jpg')).to.throw(ImageError, "cannot read image 'spec/fixtures/preprocess/missing.jpg': no such file");
    expect(() => centerCrop(asImage(new Uint8Array(10 * 10 * 3), 10, 10), 16)).to.throw(ImageError, 'cannot center-crop 16x16 from a 10x10 image');
    expect(() => resizeAntialiased(asImage(new Uint8Array(3), 1, 1), 0, 4)).to.throw(ImageError, 'must be positive integers');
  });
});
