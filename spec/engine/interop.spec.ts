import { expect } from 'chai';
import * as E from '../../engine/index.js';

describe('ndarray interop', () => {
  it('copies a strided (transposed) ndarray view into a contiguous tensor and back', () => {
    // A 2x3 row-major array seen transposed: shape [3, 2], stride [1, 3].
    const view = { data: new Float64Array([1, 2, 3, 4, 5, 6]), shape: [3, 2], stride: [1, 3], offset: 0 };
    const t = E.fromNdarray(view);
    expect(t.dtype).to.equal('float64');
    expect(t.toArray()).to.deep.equal([1, 4, 2, 5, 3, 6]);
    const back = E.toNdarray(t);
    expect(back.stride).to.deep.equal([2, 1]);
    expect(Array.from(back.data)).to.deep.equal([1, 4, 2, 5, 3, 6]);
  });
  it('names an out-of-range view', () => {
    expect(() => E.fromNdarray({ data: [1, 2], shape: [3], stride: [1], offset: 0 })).to.throw(/outside data of length 2/);
  });
});
