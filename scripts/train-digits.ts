/**
 * Trains the teaching page's digit CNN with lrp-tape itself (seeded, so a rerun gives the same
 * weights) and writes teach/data/digit-cnn.safetensors. Usage: node --import tsx scripts/train-digits.ts
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { engine, nn } from '../index.js';
import { writeBytesAtomic } from '../node/index.js';
import { accuracy, digitModel, gather, parseDigits, split, STATED_HELDOUT_ACCURACY } from '../teach/digits.js';

const dataDir = fileURLToPath(new URL('../teach/data/', import.meta.url));
const all = parseDigits(readFileSync(dataDir + 'digits.safetensors'));
const { train, heldOut } = split(all.y.length);
const test = gather(all, heldOut);
const rng = new engine.Rng(7);
const model = digitModel(rng);
const opt = new nn.Adam(model, { lr: 3e-3 });
const batch = 32;
for (let epoch = 0; epoch < 12; epoch++) {
  model.train();
  const order = [...train];
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  let loss = 0;
  for (let s = 0; s < order.length; s += batch) {
    const b = gather(all, order.slice(s, s + batch));
    opt.zeroGrad();
    const ce = engine.crossEntropy(model.call(b.x), b.y);
    loss += ce.item() * b.y.length;
    engine.backward(ce);
    opt.step();
  }
  model.eval();
  console.log(`epoch ${epoch + 1}: loss ${(loss / order.length).toFixed(4)}, held-out accuracy ${(accuracy(model, test) * 100).toFixed(1)}%`);
}
const acc = accuracy(model, test);
if (acc < STATED_HELDOUT_ACCURACY) throw new Error(`held-out accuracy ${acc} is below the stated ${STATED_HELDOUT_ACCURACY}`);
writeBytesAtomic(dataDir + 'digit-cnn.safetensors', nn.serializeStateDict(model, { heldOutAccuracy: acc.toFixed(4), trainedBy: 'scripts/train-digits.ts' }));
console.log(`wrote ${dataDir}digit-cnn.safetensors (held-out accuracy ${(acc * 100).toFixed(2)}%)`);
