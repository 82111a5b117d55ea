/** The demo's object masks, which relevance mass accuracy scores against in `lrp-tape evaluate`. */
import { expect } from 'chai';
import * as E from '../../engine/index.js';
import { decoyMask, demoDataSets, makeDataSet } from '../../demo/data.js';

describe('demo data: object masks', () => {
  it('cover every pixel the shape colours, grown by at most one pixel, and never the decoy region', () => {
    const ds = makeDataSet(30, new E.Rng(3), { noise: 0 });
    const S = ds.size;
    const hw = S * S;
    const decoy = decoyMask({}, 1);
    for (let i = 0; i < 30; i++) {
      const m = ds.objectMask.subarray(i * hw, (i + 1) * hw);
      const shape = new Uint8Array(hw);
      for (let p = 0; p < hw; p++) {
        const coloured = [0, 1, 2].some((c) => ds.x.data[(i * 3 + c) * hw + p] !== 0);
        if (coloured && !decoy[p]) shape[p] = 1;
      }
      for (let p = 0; p < hw; p++) {
        if (shape[p]) expect(m[p], `image ${i} pixel ${p}`).to.equal(1);
        if (m[p]) {
          expect(decoy[p], `image ${i} pixel ${p} in the decoy region`).to.equal(0);
          const [y, x] = [Math.floor(p / S), p % S];
          let near = false;
          for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) near ||= shape[(y + dy) * S + x + dx] === 1 && y + dy >= 0 && y + dy < S && x + dx >= 0 && x + dx < S;
          expect(near, `image ${i} pixel ${p} farther than one pixel from the shape`).to.equal(true);
        }
      }
    }
  });

  it('demoDataSets draws the same images for the same seed (the evaluation scores what the demo scored)', () => {
    const a = demoDataSets(5, { trainSize: 6, testSize: 9 }, { size: 24 });
    const b = demoDataSets(5, { trainSize: 6, testSize: 9 }, { size: 24 });
    expect(Array.from(a.consistent.x.data)).to.deep.equal(Array.from(b.consistent.x.data));
    expect(Array.from(a.randomised.objectMask)).to.deep.equal(Array.from(b.randomised.objectMask));
    expect(Array.from(a.consistent.y)).to.deep.equal(Array.from(b.consistent.y));
  });
});
