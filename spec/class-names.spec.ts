import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { findClass, IMAGENET_CLASSES } from '../models/index.js';

describe('ImageNet class names', () => {
  it('are torchvision\'s 1000 labels in index order (the shipped copy of its list)', () => {
    const want = JSON.parse(readFileSync(new URL('./fixtures/imagenet-classes.json', import.meta.url), 'utf8')) as string[];
    expect(want).to.have.length(1000);
    expect([...IMAGENET_CLASSES]).to.deep.equal(want);
    expect(IMAGENET_CLASSES[207]).to.equal('golden retriever');
  });

  it('find a class by name, ignoring case, spaces and underscores', () => {
    expect(findClass(IMAGENET_CLASSES, 'golden retriever')).to.deep.equal({ index: 207 });
    expect(findClass(IMAGENET_CLASSES, '  Golden_Retriever ')).to.deep.equal({ index: 207 });
    expect(findClass(IMAGENET_CLASSES, 'tench')).to.deep.equal({ index: 0 });
  });

  it('suggest the closest names for a miss: containing the query first, then by spelling', () => {
    const miss = findClass(IMAGENET_CLASSES, 'retriever');
    expect(miss.index).to.equal(null);
    const closest = (miss as { closest: string[] }).closest;
    expect(closest).to.have.length(3);
    for (const n of closest) expect(n).to.contain('retriever');
    const typo = findClass(IMAGENET_CLASSES, 'goldn retreiver') as { index: null; closest: string[] };
    expect(typo.index).to.equal(null);
    expect(typo.closest[0]).to.equal('golden retriever');
  });
});
