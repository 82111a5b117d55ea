import { expect } from 'chai';
import { colouredSentence, run, tokenRelevance } from '../../examples/transformer-relevance.js';
import * as E from '../../engine/index.js';

describe('examples/transformer-relevance', () => {
  it('runs: a coloured sentence with every token, patch relevance and a ledger row per ViT block', () => {
    const lines = run();
    expect(lines[0]).to.match(/^token transformer, class [01]: /);
    for (const w of ['the', 'film', 'was', 'not', 'bad', 'at', 'all']) expect(lines[1]).to.include(`>${w}</span>`);
    expect(lines.filter((l) => /^ {2}blocks\.\d /.test(l))).to.have.length(2);
  });

  it('token relevance sums the embedding dimension and keeps signs; HTML escapes the words', () => {
    const r = E.tensor([1, 1, -4, 0, 2, 0], [1, 3, 2]);
    expect(tokenRelevance(r)).to.deep.equal([0.5, -1, 0.5]);
    expect(colouredSentence(['<b>'], [1]).html).to.equal('<p><span style="background: rgba(220,40,40,1.00)">&#60;b&#62;</span></p>');
  });
});
