/**
 * The teaching page's second model: the demo's CNN trained plainly on the demo's decoy data (24x24),
 * so it reads the corner patch; the page's EGL panel then trains it away from the patch.
 * Writes teach/data/decoy-cnn.safetensors. Usage: node --import tsx scripts/train-decoy.ts
 */
import { fileURLToPath } from 'node:url';
import { engine, nn } from '../index.js';
import { writeBytesAtomic } from '../node/index.js';
import { decoyShare, DECOY_DATA, decoyModel } from '../teach/decoy.js';
import { makeDataSet } from '../demo/data.js';
import { train } from '../demo/train.js';

const rng = new engine.Rng(21);
const ds = makeDataSet(600, rng, DECOY_DATA);
const model = decoyModel(rng);
train(model, ds, { epochs: 4, batchSize: 32, lr: 2e-3, lambda: 0, rng, onEpoch: (e) => console.log(`epoch ${e.epoch + 1}: loss ${e.loss.toFixed(4)}, accuracy ${(e.accuracy * 100).toFixed(1)}%`) });
const test = makeDataSet(60, new engine.Rng(99), { ...DECOY_DATA, decoy: 'random' });
const pred = engine.argmax(engine.noGrad(() => model.call(test.x)), 1).data;
let ok = 0;
for (let i = 0; i < test.y.length; i++) if (pred[i] === test.y[i]) ok++;
console.log(`accuracy with the patch colour drawn at random: ${((ok / test.y.length) * 100).toFixed(1)}%; decoy share of relevance ${decoyShare(model, test.x, test.y).toFixed(3)}`);
const out = fileURLToPath(new URL('../teach/data/decoy-cnn.safetensors', import.meta.url));
writeBytesAtomic(out, nn.serializeStateDict(model, { trainedBy: 'scripts/train-decoy.ts' }));
console.log(`wrote ${out}`);
