import { createHash } from 'node:crypto';
import { expect } from 'chai';
import fc from 'fast-check';
import {
  CENTER_INDEX,
  CMAPS,
  ColorMap,
  ColorMapError,
  createImage,
  getColorMap,
  grid,
  heatmap,
  IMAGENET_MEAN,
  IMAGENET_STD,
  imageToTensorData,
  overlay,
  palette,
  paletteIndices,
  parseColorMap,
  resize,
  sumChannels,
  tensorDataToImage,
  type Image,
} from '../../image/index.js';
import { pixel, rgbImage } from '../support/images.js';

const at = (name: string, i: number, level = 1): number[] => [...palette(name, level).subarray(i * 3, i * 3 + 3)];

describe('image: colour maps', () => {
  it('bwr: blue at 0, white at 128, red at 255', () => {
    expect(at('bwr', 0)).to.deep.equal([0, 0, 255]);
    expect(at('bwr', 128)).to.deep.equal([255, 255, 255]);
    expect(at('bwr', 255)).to.deep.equal([255, 0, 0]);
    expect(at('bwr', 127)).to.deep.equal([253, 253, 255]);
    expect(palette()).to.deep.equal(palette('bwr'));
  });

  // Expected values come from running zennit's ColorMap.palette (zennit/cmap.py) under numpy.
  const zennit: Record<string, Record<number, number[]>> = {
    hot: { 0: [0, 0, 0], 1: [3, 0, 0], 42: [126, 0, 0], 85: [255, 0, 0], 127: [255, 126, 0], 128: [255, 129, 0], 200: [255, 255, 90], 254: [255, 255, 252] },
    cold: { 1: [0, 0, 2], 64: [0, 0, 128], 127: [0, 0, 255], 128: [0, 1, 255], 200: [0, 145, 255], 255: [0, 255, 255] },
    coldnhot: { 0: [0, 255, 255], 1: [0, 251, 255], 42: [0, 87, 255], 85: [0, 0, 171], 127: [0, 0, 3], 128: [0, 0, 0], 200: [255, 182, 0], 254: [255, 255, 249] },
    france: { 0: [0, 85, 164], 42: [83, 140, 193], 127: [253, 253, 254], 128: [255, 255, 255], 170: [249, 192, 188], 255: [239, 65, 53] },
    seismic: { 0: [0, 0, 208], 42: [68, 68, 208], 128: [208, 208, 208], 170: [208, 139, 139], 255: [208, 0, 0] },
    coolio: { 85: [138, 208, 208], 127: [206, 208, 208], 200: [208, 90, 208] },
    coleus: { 1: [1, 208, 1], 170: [208, 139, 208], 254: [208, 1, 208] },
    gray: { 0: [0, 0, 0], 42: [42, 42, 42], 128: [128, 128, 128], 255: [255, 255, 255] },
    wred: { 1: [255, 254, 254], 127: [255, 128, 128], 128: [255, 127, 127], 200: [255, 55, 55] },
    wblue: { 42: [213, 213, 255], 170: [85, 85, 255] },
  };
  for (const [name, entries] of Object.entries(zennit)) {
    it(`${name} matches zennit at sampled indices`, () => {
      for (const [i, rgb] of Object.entries(entries)) expect(at(name, Number(i)), `${name}[${i}]`).to.deep.equal(rgb);
    });
  }

  it('level follows zennit (compress below 1, saturate above 1)', () => {
    expect(at('bwr', 0, 0.5)).to.deep.equal([127, 127, 255]);
    expect(at('bwr', 64, 0.5)).to.deep.equal([190, 190, 255]);
    expect(at('bwr', 128, 0.5)).to.deep.equal([254, 254, 255]);
    expect(at('bwr', 255, 0.5)).to.deep.equal([255, 128, 128]);
    expect(at('bwr', 64, 2)).to.deep.equal([0, 0, 255]);
    expect(at('bwr', 100, 2)).to.deep.equal([144, 144, 255]);
    expect(at('bwr', 128, 2)).to.deep.equal([255, 253, 253]);
    expect(at('bwr', 192, 2)).to.deep.equal([255, 0, 0]);
  });

  it('all built-ins at levels 1, 0.5 and 2 are byte-identical to zennit', () => {
    const h = createHash('sha256');
    for (const level of [1, 0.5, 2]) {
      for (const name of ['gray', 'wred', 'wblue', 'hot', 'cold', 'coldnhot', 'bwr', 'france', 'seismic', 'coolio', 'coleus']) {
        h.update(palette(name, level));
      }
    }
    expect(h.digest('hex')).to.equal('6cf50182ded8d26456e483f761bf952223b62c66249ef196d3ce56adef0a8b0e');
    expect(Object.keys(CMAPS)).to.have.length(11);
  });

  it('custom CMSL: index doubling, even spacing with truncation, whitespace', () => {
    expect(new ColorMap('3:f00,0f0,c0:00f').indices).to.deep.equal([0, 0x33, 121, 0xc0, 256]);
    expect(new ColorMap('10:123456,abc,def,e:fff').indices).to.deep.equal([0, 16, 90, 164, 238, 256]);
    expect(getColorMap('hot').indices).to.deep.equal([0, 85, 170, 255, 256]);
    expect(getColorMap('coldnhot').indices).to.deep.equal([0, 64, 128, 170, 212, 255, 256]);
    expect(at('3:f00,0f0,c0:00f', 100)).to.deep.equal([76, 178, 0]);
    expect(at('3:f00,0f0,c0:00f', 128)).to.deep.equal([0, 229, 25]);
    expect(at('10:123456,abc,def,e:fff', 51)).to.deep.equal([89, 115, 141]);
    expect(at('10:123456,abc,def,e:fff', 200)).to.deep.equal([237, 246, 255]);
    expect(at(' a:f00 , 0f0 ', 200)).to.deep.equal([165, 90, 0]);
    expect(parseColorMap('8:AbC,123456')).to.deep.equal([
      { index: 0x88, color: [0xaa, 0xbb, 0xcc] },
      { index: null, color: [0x12, 0x34, 0x56] },
    ]);
  });

  it('palette() hands out copies', () => {
    const p = palette('gray');
    p.fill(7);
    expect(at('gray', 10)).to.deep.equal([10, 10, 10]);
  });

  const bad: [string, RegExp][] = [
    ['f00', /at least 2 colours are needed, found 1 at position 3$/],
    ['', /expected a colour or an index but found end of input at position 0$/],
    ['f00,', /expected a colour or an index after ',' but found end of input at position 4$/],
    ['f00,,000', /after ',' but found ',' at position 4$/],
    ['ff,000', /colour 'ff' has 2 hex digits, expected 3 or 6 \(an index needs ':'\) at position 0$/],
    ['fff,0000', /colour '0000' has 4 hex digits, expected 3 or 6 at position 4$/],
    ['123:fff,000', /index '123' has 3 hex digits, expected 1 or 2 at position 0$/],
    ['80:fff,40:000', /index 40 \(64\) is below the previous index \(128\); indices must ascend at position 7$/],
    ['fff,xyz', /expected a colour or an index after ',' but found 'x' at position 4$/],
    ['fff;000', /expected ',' between colours but found ';' at position 3$/],
    ['fff,80:', /expected a colour after ':' but found end of input at position 7$/],
    ['viridis', /found 'v' at position 0$/],
  ];
  for (const [src, re] of bad) {
    it(`rejects ${JSON.stringify(src)} with a clear ColorMapError`, () => {
      let err: unknown;
      try {
        new ColorMap(src);
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(ColorMapError);
      expect(String(err)).to.match(new RegExp(`^ColorMapError: bad colour map '${src.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}': `));
      expect((err as Error).message).to.match(re);
    });
  }
});

describe('image: normalisation and heatmaps', () => {
  const f64 = (...v: number[]): Float64Array => Float64Array.from(v);

  it('maps 0 to the centre, +max to 255 and -max to 0', () => {
    expect([...paletteIndices(f64(-2, -1, 0, 1, 2))]).to.deep.equal([0, 64, 128, 191, 255]);
    expect([...paletteIndices(f64(0, 0.5, 3))]).to.deep.equal([128, 149, 255]);
    expect(CENTER_INDEX).to.equal(128);
  });

  it('is sign symmetric: idx(x) + idx(-x) is 255 or 256, and signs stay on their side', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { minLength: 1, maxLength: 40 }), (xs) => {
        const pos = paletteIndices(Float64Array.from(xs));
        const neg = paletteIndices(Float64Array.from(xs, (v) => -v));
        xs.forEach((v, i) => {
          expect(pos[i]! + neg[i]!).to.be.oneOf([255, 256]);
          if (v > 0) expect(pos[i]).to.be.at.least(128);
          if (v < 0) expect(pos[i]).to.be.at.most(128);
          if (v === 0) expect(pos[i]).to.equal(128);
        });
      }),
    );
  });

  it('always yields a valid, monotone palette index for any finite input (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { maxLength: 50 }),
        fc.boolean(),
        (xs, symmetric) => {
          const idx = paletteIndices(Float64Array.from(xs), { symmetric });
          expect(idx).to.have.length(xs.length);
          const order = xs.map((v, i) => [v, idx[i]!] as const).sort((a, b) => a[0] - b[0]);
          for (let k = 0; k < order.length; k++) {
            const i = order[k]![1];
            expect(Number.isInteger(i) && i >= 0 && i <= 255).to.equal(true);
            if (k > 0) expect(i).to.be.at.least(order[k - 1]![1]);
          }
        },
      ),
    );
  });

  it('gives the centre colour for constant maps and NaN, never NaN', () => {
    const zero = heatmap({ data: new Float32Array(6), shape: [2, 3] });
    expect(zero.channels).to.equal(3);
    for (let p = 0; p < 6; p++) expect(pixel(zero, p % 3, Math.floor(p / 3))).to.deep.equal([255, 255, 255]);
    expect([...paletteIndices(f64(5, 5, 5), { symmetric: false })]).to.deep.equal([128, 128, 128]);
    expect([...paletteIndices(f64(3, 3, 3))]).to.deep.equal([128, 128, 128]);
    expect([...paletteIndices(f64(-2, -2))]).to.deep.equal([128, 128]);
    expect([...paletteIndices(f64(NaN, 1, -1))]).to.deep.equal([128, 255, 0]);
    // Infinities do not set the scale; they clip.
    expect([...paletteIndices(f64(Infinity, -Infinity, 2, 1))]).to.deep.equal([255, 0, 255, 191]);
  });

  it('honours symmetric=false and vmin/vmax overrides', () => {
    expect([...paletteIndices(f64(1, 2, 3), { symmetric: false })]).to.deep.equal([0, 128, 255]);
    expect([...paletteIndices(f64(1, 2, 3), { vmin: -10, vmax: 10 })]).to.deep.equal([140, 153, 166]);
    expect([...paletteIndices(f64(-5, 5), { vmax: 1 })]).to.deep.equal([0, 255]);
    expect(() => paletteIndices(f64(1), { vmin: 2, vmax: 1 })).to.throw(RangeError, /vmin \(2\) must not exceed vmax \(1\)/);
  });

  it('sums channels of [C,H,W] and accepts [1,C,H,W]', () => {
    const rel = { data: Float32Array.from([1, -2, 0, 4, -1, 2, 0, -4]), shape: [2, 2, 2] };
    expect([...sumChannels(rel).data]).to.deep.equal([0, 0, 0, 0]);
    const img = heatmap({ data: Float64Array.from([1, 0, 0, -1, 0, 0]), shape: [1, 2, 1, 3] });
    expect([img.width, img.height]).to.deep.equal([3, 1]);
    expect(pixel(img, 0, 0)).to.deep.equal([255, 255, 255]);
    expect(() => heatmap({ data: new Float32Array(5), shape: [2, 3] })).to.throw(/5 elements but shape \[2, 3\] needs 6/);
    expect(() => heatmap({ data: new Float32Array(8), shape: [2, 1, 2, 2] })).to.throw(/batch of 2/);
  });

  it('colours through the chosen map and level', () => {
    const rel = { data: Float32Array.from([-3, 0, 3, 1.5]), shape: [1, 4] };
    const img = heatmap(rel);
    expect(pixel(img, 0, 0)).to.deep.equal([0, 0, 255]);
    expect(pixel(img, 1, 0)).to.deep.equal([255, 255, 255]);
    expect(pixel(img, 2, 0)).to.deep.equal([255, 0, 0]);
    const hot = heatmap(rel, { cmap: 'hot', level: 2 });
    expect(pixel(hot, 3, 0)).to.deep.equal(at('hot', 191, 2));
    const custom = heatmap(rel, { cmap: '000,fff' });
    expect(pixel(custom, 1, 0)).to.deep.equal([128, 128, 128]);
  });
});

describe('image: grid, overlay, resize, conversion', () => {
  const solid = (w: number, h: number, c: [number, number, number]): Image => createImage(w, h, 3, c);

  it('lays out grids with zennit defaults, explicit shapes, padding and margin', () => {
    const ims = [solid(4, 2, [255, 0, 0]), solid(4, 2, [0, 255, 0]), solid(4, 2, [0, 0, 255])];
    const tall = grid(ims);
    expect([tall.width, tall.height]).to.deep.equal([4, 6]);
    const row = grid(ims, { rows: 1 });
    expect([row.width, row.height]).to.deep.equal([12, 2]);
    expect(pixel(row, 5, 1)).to.deep.equal([0, 255, 0]);
    const padded = grid(ims, { cols: 2, padding: 2, margin: 1, background: [9, 9, 9] });
    expect([padded.width, padded.height]).to.deep.equal([2 * 4 + 2 + 2, 2 * 2 + 2 + 2]);
    expect(pixel(padded, 0, 0)).to.deep.equal([9, 9, 9]);
    expect(pixel(padded, 1, 1)).to.deep.equal([255, 0, 0]);
    expect(pixel(padded, 7, 1)).to.deep.equal([0, 255, 0]);
    expect(pixel(padded, 1, 5)).to.deep.equal([0, 0, 255]);
    expect(pixel(padded, 7, 5)).to.deep.equal([9, 9, 9]);
    const mixed = grid([solid(4, 4, [1, 1, 1]), solid(2, 2, [2, 2, 2])], { rows: 1, background: [0, 0, 0] });
    expect([mixed.width, mixed.height]).to.deep.equal([8, 4]);
    expect(pixel(mixed, 4, 0)).to.deep.equal([0, 0, 0]);
    expect(pixel(mixed, 5, 1)).to.deep.equal([2, 2, 2]);
    expect(() => grid(ims, { rows: 1, cols: 2 })).to.throw(/1x2 grid cannot hold 3 images/);
    expect(() => grid([])).to.throw(/at least one image/);
  });

  it('overlays with alpha and an optional relevance mask', () => {
    const base = solid(2, 1, [0, 0, 0]);
    const heat = solid(2, 1, [200, 100, 50]);
    expect(pixel(overlay(base, heat, { alpha: 0 }), 0, 0)).to.deep.equal([0, 0, 0]);
    expect(pixel(overlay(base, heat, { alpha: 1 }), 1, 0)).to.deep.equal([200, 100, 50]);
    expect(pixel(overlay(base, heat), 0, 0)).to.deep.equal([100, 50, 25]);
    const mask = { data: Float32Array.from([0, -2]), shape: [1, 2] };
    const masked = overlay(base, heat, { alpha: 1, mask });
    expect(pixel(masked, 0, 0)).to.deep.equal([0, 0, 0]);
    expect(pixel(masked, 1, 0)).to.deep.equal([200, 100, 50]);
    const soft = overlay(base, heat, { alpha: 1, mask: { data: Float32Array.from([1, -2]), shape: [1, 2] }, soft: true });
    expect(pixel(soft, 0, 0)).to.deep.equal([100, 50, 25]);
    expect(pixel(overlay(solid(4, 2, [0, 0, 0]), heat, { alpha: 1 }), 3, 1)).to.deep.equal([200, 100, 50]);
  });

  it('resizes with nearest and pixel-centre bilinear', () => {
    const img = rgbImage(2, 1, (x) => (x === 0 ? [0, 0, 0] : [200, 100, 40]));
    const near = resize(img, { width: 4, height: 2, method: 'nearest' });
    expect([0, 1, 2, 3].map((x) => pixel(near, x, 1)[0])).to.deep.equal([0, 0, 200, 200]);
    const bil = resize(img, { width: 4, height: 1 });
    expect([0, 1, 2, 3].map((x) => pixel(bil, x, 0)[0])).to.deep.equal([0, 50, 150, 200]);
    const down = resize(rgbImage(4, 1, (x) => [x * 60, 0, 0]), { width: 2, height: 1 });
    expect([pixel(down, 0, 0)[0], pixel(down, 1, 0)[0]]).to.deep.equal([30, 150]);
    const rgba = resize(createImage(3, 3, 4, [5, 6, 7]), { width: 5, height: 2 });
    expect(rgba.channels).to.equal(4);
    expect(pixel(rgba, 4, 1)).to.deep.equal([5, 6, 7, 255]);
  });

  it('converts between CHW float tensors and images', () => {
    const img = rgbImage(3, 2, (x, y) => [x * 80, y * 200, 17]);
    const t = imageToTensorData(img);
    expect(t).to.be.instanceOf(Float32Array).with.length(18);
    expect(t[1]).to.be.closeTo(80 / 255, 1e-7);
    expect(t[6 + 3]).to.be.closeTo(200 / 255, 1e-7);
    const norm = imageToTensorData(img, { mean: [...IMAGENET_MEAN], std: [...IMAGENET_STD] });
    expect(norm[0]).to.be.closeTo((0 - 0.485) / 0.229, 1e-6);
    const back = tensorDataToImage({ data: norm, shape: [3, 2, 3] }, { mean: [...IMAGENET_MEAN], std: [...IMAGENET_STD] });
    expect([...back.data]).to.deep.equal([...img.data]);
    const small = imageToTensorData(img, { size: [1, 2] });
    expect(small).to.have.length(6);
    const grey = tensorDataToImage({ data: Float32Array.from([0, 0.5, 2, -1]), shape: [2, 2] });
    expect([...grey.data]).to.deep.equal([0, 0, 0, 128, 128, 128, 255, 255, 255, 0, 0, 0]);
    expect(() => imageToTensorData(img, { std: [1, 0, 1] })).to.throw(/std must not contain 0/);
    expect(() => tensorDataToImage({ data: new Float32Array(8), shape: [2, 2, 2] })).to.throw(/1 or 3 channels/);
  });
});
