import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { findClass, guessArchitecture, IMAGENET_CLASSES, resnet18, resnet50 } from '../../models/index.js';

describe('ImageNet class names', () => {
  it('are torchvision\'s 1000 labels in index order (the shipped copy of its list)', () => {
    const want = JSON.parse(readFileSync(new URL('../fixtures/imagenet-classes.json', import.meta.url), 'utf8')) as string[];
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

describe('guessArchitecture', () => {
  const shapes = (m: { stateDict(): Map<string, { shape: readonly number[] }> }) => new Map([...m.stateDict()].map(([k, v]) => [k, v.shape]));
  /** torchvision's vgg11(_bn) state-dict names (building the model allocates its 120M-parameter head). */
  const vggShapes = (bn: boolean): Map<string, number[]> => {
    const m = new Map<string, number[]>();
    let i = 0;
    let c = 3;
    for (const v of [64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'] as const) {
      if (v === 'M') { i += 1; continue; }
      m.set(`features.${i}.weight`, [v, c, 3, 3]).set(`features.${i}.bias`, [v]);
      if (bn) for (const k of ['weight', 'bias', 'running_mean', 'running_var']) m.set(`features.${i + 1}.${k}`, [v]);
      i += bn ? 3 : 2;
      c = v;
    }
    for (const [j, o, n] of [[0, 4096, 25088], [3, 4096, 4096], [6, 1000, 4096]] as const) m.set(`classifier.${j}.weight`, [o, n]).set(`classifier.${j}.bias`, [o]);
    return m;
  };
  it('names the torchvision builder a state dict comes from', () => {
    expect(guessArchitecture(shapes(resnet18()))).to.equal('resnet18');
    expect(guessArchitecture(shapes(resnet50({ numClasses: 10 })))).to.equal('resnet50');
    expect(guessArchitecture(vggShapes(false))).to.equal('vgg11');
    expect(guessArchitecture(vggShapes(true))).to.equal('vgg11_bn');
    expect(guessArchitecture(new Map([['0.weight', [3, 4]]]))).to.equal(null);
  });
});
