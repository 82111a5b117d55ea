import { expect } from 'chai';
import v8 from 'node:v8';
import vm from 'node:vm';
import * as E from '../../engine/index.js';
import { Adam, BatchNorm2d, Conv2d, Flatten, Linear, ReLU, Sequential } from '../../nn/index.js';
import { epsilonPlus } from '../../composites/index.js';
import { canonize, sequentialMergeBatchNorm } from '../../canonizers/index.js';
import { explanationGuidedStep } from '../../attribution/index.js';

/** global.gc when node runs with --expose-gc; otherwise enabled at run time through V8's flags. */
function exposeGc(): () => void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) return g;
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

describe('explanation-guided training: memory', function () {
  this.timeout(60000);

  it('1000 steps (batch norm in training mode, merging canonizer, relevance with createGraph) do not grow the heap', () => {
    const gc = exposeGc();
    const rng = new E.Rng(6);
    const model = new Sequential(new Conv2d(1, 2, 3, { padding: 1, rng }), new BatchNorm2d(2), new ReLU(), new Flatten(), new Linear(32, 2, { rng }));
    const view = canonize(model, [sequentialMergeBatchNorm()]);
    const optimizer = new Adam(model, { lr: 1e-3 });
    const composite = epsilonPlus();
    const input = E.randn([4, 1, 4, 4], { rng });
    const targets = [0, 1, 1, 0];
    const mask = E.zeros([1, 1, 4, 4]);
    mask.data.fill(1, 0, 4);
    const heap = (): number => {
      gc();
      gc();
      return process.memoryUsage().heapUsed;
    };
    let at100 = 0;
    let separate = false;
    for (let step = 1; step <= 1000; step++) {
      const r = explanationGuidedStep({ model, view, optimizer, input, targets, composite, mask, lambda: 1 });
      separate = r.separateForwards;
      if (!Number.isFinite(r.loss)) throw new Error(`step ${step}: loss ${r.loss}`);
      if (step === 100) at100 = heap();
    }
    const at1000 = heap();
    expect(separate).to.equal(true);
    expect(at1000, `heap ${at100} after step 100, ${at1000} after step 1000`).to.be.below(at100 * 1.1);
  });
});
