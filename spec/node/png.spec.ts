import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { createImage, encodePng, PngError, type Image } from '../../image/index.js';
import { decodePng, readPng, writePng } from '../../node/index.js';
import { pixel, rgbImage } from '../support/images.js';


describe('node: PNG files', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'lrp-png-spec-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('round-trips RGB and RGBA images through files and buffers', () => {
    const rgb = rgbImage(5, 3, (x, y) => [x * 50, y * 100, (x * y * 37) % 256]);
    const file = join(dir, 'rgb.png');
    writePng(file, rgb);
    const read = readPng(file);
    expect([read.width, read.height, read.channels]).to.deep.equal([5, 3, 4]);
    expect(pixel(read, 4, 2)).to.deep.equal([200, 200, 40, 255]);
    expect([...read.data].filter((_, i) => i % 4 !== 3)).to.deep.equal([...rgb.data]);

    const rgba: Image = { width: 2, height: 1, channels: 4, data: Uint8Array.from([1, 2, 3, 0, 250, 251, 252, 128]) };
    const dec = decodePng(encodePng(rgba));
    expect([...dec.data]).to.deep.equal([...rgba.data]);
    expect(decodePng(encodePng(rgb)).channels).to.equal(4);
  });

  it('replaces existing files atomically and leaves no temp files behind', () => {
    const file = join(dir, 'over.png');
    writePng(file, createImage(1, 1, 3, [1, 2, 3]));
    writePng(file, createImage(2, 2, 3, [4, 5, 6]));
    expect(pixel(readPng(file), 1, 1)).to.deep.equal([4, 5, 6, 255]);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).to.deep.equal([]);
  });

  it('fails cleanly on write errors without touching the target', () => {
    const target = join(dir, 'a-directory.png');
    mkdirSync(target);
    expect(() => writePng(target, createImage(1, 1, 3))).to.throw(PngError, /cannot write PNG file '.*a-directory\.png'/);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).to.deep.equal([]);
    const missingDir = join(dir, 'nope', 'x.png');
    expect(() => writePng(missingDir, createImage(1, 1, 3))).to.throw(PngError, /nope/);
    expect(existsSync(join(dir, 'nope'))).to.equal(false);
    expect(() => encodePng(createImage(0, 3, 3))).to.throw(PngError, /at least 1x1/);
  });

  it('names the file when input is missing or not a PNG', () => {
    const missing = join(dir, 'missing.png');
    expect(() => readPng(missing)).to.throw(PngError, /cannot read PNG file '.*missing\.png'.*ENOENT/);
    const text = join(dir, 'notes.png');
    writeFileSync(text, 'definitely not a png');
    expect(() => readPng(text)).to.throw(PngError, /file '.*notes\.png' is not a valid PNG/);
    const truncated = join(dir, 'cut.png');
    writeFileSync(truncated, encodePng(createImage(8, 8, 3, [1, 2, 3])).subarray(0, 40));
    expect(() => readPng(truncated)).to.throw(PngError, /cut\.png' is not a valid PNG/);
    expect(() => decodePng(new Uint8Array([1, 2, 3]))).to.throw(PngError, /^buffer is not a valid PNG/);
    expect(readFileSync(text, 'utf8')).to.equal('definitely not a png');
  });
});
