/** Backward progress: the library's optional callback, and the CLI's bar fed from it. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import * as E from '../../engine/index.js';
import { recordForward, oneHotSeed } from '../../attribution/index.js';
import { compositeFromSpec } from '../../composites/index.js';
import { buildFromSpec } from '../../models/index.js';
import { tensorToRaw } from '../../nn/index.js';
import { writeSafetensorsFile, writeStateDictFile } from '../../node/index.js';
import { explainCommand } from '../../cli/explain.js';

const spec = {
  type: 'Sequential',
  children: [
    ['0', { type: 'Conv2d', in_channels: 3, out_channels: 4, kernel_size: [3, 3], stride: 1, padding: 1 }],
    ['1', { type: 'ReLU' }],
    ['2', { type: 'Flatten', start_dim: 1 }],
    ['3', { type: 'Linear', in_features: 64, out_features: 3 }],
  ],
};

describe('backward progress', () => {
  it('attribute() reports each layer once, counting up to the recording\'s layer count, then (total, total, null)', () => {
    const model = buildFromSpec(spec, { rng: new E.Rng(1) }).eval();
    const rec = recordForward(model, E.randn([1, 3, 4, 4], { rng: new E.Rng(2) }));
    const calls: [number, number, string | null][] = [];
    const plain = rec.attribute(oneHotSeed(rec.output, [0]), { composite: compositeFromSpec({ name: 'epsilon_plus' }) }).relevance;
    const r = rec.attribute(oneHotSeed(rec.output, [0]), {
      composite: compositeFromSpec({ name: 'epsilon_plus' }),
      onProgress: (done, total, layer) => calls.push([done, total, layer ? layer.name : null]),
    }).relevance;
    expect(Array.from(r.data)).to.deep.equal(Array.from(plain.data));
    const total = rec.recording.layers.length;
    expect(calls.at(-1)).to.deep.equal([total, total, null]);
    const perLayer = calls.slice(0, -1);
    expect(perLayer.map((c) => c[0])).to.deep.equal(perLayer.map((_, i) => i + 1));
    expect(perLayer.map((c) => c[2])).to.deep.equal(['3', '2', '1', '0']);
  });

  it('explain feeds a progress bar per backward layer and stops it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lrp-tape-progress-'));
    try {
      const model = buildFromSpec(spec, { rng: new E.Rng(1) }).eval();
      writeStateDictFile(join(dir, 'w.safetensors'), model);
      writeFileSync(join(dir, 'm.json'), JSON.stringify(spec));
      writeSafetensorsFile(join(dir, 'x.safetensors'), new Map([['input', tensorToRaw(E.randn([1, 3, 4, 4], { rng: new E.Rng(2) }))]]));
      const events: string[] = [];
      const opts = { model: join(dir, 'm.json'), weights: join(dir, 'w.safetensors'), input: join(dir, 'x.safetensors'), composite: 'epsilon_plus', arg: [], canonizer: [], attributor: 'gradient', cmap: 'bwr', level: '1', dtype: 'float32' };
      explainCommand(opts, {
        stdout: () => {},
        progress: (label, total) => {
          events.push(`start ${label} ${total}`);
          return { update: (v, payload) => events.push(`${v} ${payload?.layer}`), stop: () => events.push('stop') };
        },
      });
      expect(events).to.deep.equal(['start backward 4', '1 3', '2 2', '3 1', '4 0', '4 done', 'stop']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
