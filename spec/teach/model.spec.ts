/** The teaching page's shipped digit CNN: it loads strictly and reaches the stated held-out accuracy. */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { accuracy, bitmapToInput, gather, HOLDOUT, loadDigitModel, parseDigits, split, STATED_HELDOUT_ACCURACY } from '../../teach/digits.js';

const data = (f: string) => readFileSync(new URL(`../../teach/data/${f}`, import.meta.url));

describe('teach: the shipped digit model', () => {
  const all = parseDigits(data('digits.safetensors'));

  it('has the 1797 UCI digits, scaled to [0, 1], labels 0-9', () => {
    expect(all.x.shape).to.deep.equal([1797, 1, 8, 8]);
    const x = all.x.data as Float32Array;
    expect(Math.min(...x)).to.equal(0);
    expect(Math.max(...x)).to.equal(1);
    expect(new Set(all.y).size).to.equal(10);
  });

  it('splits into disjoint train and held-out sets', () => {
    const { train, heldOut } = split(all.y.length);
    expect(heldOut.length).to.equal(HOLDOUT);
    expect(new Set([...train, ...heldOut]).size).to.equal(all.y.length);
  });

  it(`reaches the stated held-out accuracy (>= ${STATED_HELDOUT_ACCURACY})`, () => {
    const model = loadDigitModel(data('digit-cnn.safetensors'));
    const acc = accuracy(model, gather(all, split(all.y.length).heldOut));
    expect(acc).to.be.at.least(STATED_HELDOUT_ACCURACY);
  });

  it('turns a drawing into 4x4 block counts and a blank one into null', () => {
    expect(bitmapToInput(new Float32Array(1024))).to.equal(null);
    const ink = new Float32Array(1024);
    for (let r = 0; r < 4; r++) for (let c = 0; c < 2; c++) ink[r * 32 + c] = 1;
    const x = bitmapToInput(ink)!;
    expect(x[0]).to.equal(0.5);
    expect(x.slice(1).every((v) => v === 0)).to.equal(true);
    expect(() => bitmapToInput(new Float32Array(10))).to.throw(/32x32/);
  });
});
