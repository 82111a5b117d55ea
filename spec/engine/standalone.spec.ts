/**
 * Every engine module works when it is the only one imported (no barrel that wires things up at
 * import time): each case runs in a fresh process that imports one module and uses it.
 */
import { execFileSync } from 'node:child_process';
import { expect } from 'chai';
import { repoRoot } from '../../scripts/import-graph.js';

function runAlone(code: string): string {
  return execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: repoRoot,
    encoding: 'utf8',
    env: { ...process.env, LRP_TAPE_THREADS: '1' },
    timeout: 60_000,
  }).trim();
}

describe('engine: every module importable on its own', function () {
  this.timeout(120_000);

  it('tensor.ts: tensors without any op', () => {
    const out = runAlone(`import { Tensor } from './engine/tensor.js';
      const t = new Tensor(new Float32Array([1, 2, 3, 4]), [2, 2]);
      console.log(JSON.stringify([t.shape, t.toArray(), t.detach().isLeaf]));`);
    expect(out).to.equal('[[2,2],[1,2,3,4],true]');
  });

  it('ops/elementwise.ts: ops, and their gradients through grad.ts', () => {
    const out = runAlone(`import { Tensor } from './engine/tensor.js';
      import { mul, add, relu } from './engine/ops/elementwise.js';
      import { grad } from './engine/grad.js';
      const x = new Tensor(new Float64Array([-1, 2, 3]), [3]).requireGrad();
      const y = add(mul(relu(x), x), 1);
      const [g] = grad(y, x, { gradOutputs: new Tensor(new Float64Array([1, 1, 1]), [3]) });
      console.log(JSON.stringify([y.toArray(), g.toArray()]));`);
    expect(out).to.equal('[[1,5,10],[0,4,6]]');
  });

  it('grad.ts: a scalar output gets its seed of ones, and backward() accumulates into .grad', () => {
    const out = runAlone(`import { Tensor } from './engine/tensor.js';
      import { sum } from './engine/ops/sum.js';
      import { mul } from './engine/ops/elementwise.js';
      import { backward } from './engine/grad.js';
      const x = new Tensor(new Float64Array([1, 2]), [2]).requireGrad();
      backward(sum(mul(x, x)));
      console.log(JSON.stringify(x.grad.toArray()));`);
    expect(out).to.equal('[2,4]');
  });

  it('recording.ts: a functional op becomes a layer whose fn re-runs it', () => {
    const out = runAlone(`import { Tensor } from './engine/tensor.js';
      import { record } from './engine/recording.js';
      import { add } from './engine/ops/elementwise.js';
      const x = new Tensor(new Float32Array([1, 2]), [2]).requireGrad();
      const { recording } = record(() => add(x, x));
      const layer = recording.layers[0];
      const again = layer.fn([new Tensor(new Float32Array([5, 6]), [2]), x], {});
      console.log(JSON.stringify([recording.layers.length, layer.kind, again.toArray()]));`);
    expect(out).to.equal('[1,"op:add",[6,8]]');
  });

  it('ops/conv.ts and ops/pool.ts: convolution and pooling through the kernel dispatcher', () => {
    const out = runAlone(`import { Tensor } from './engine/tensor.js';
      import { conv2d } from './engine/ops/conv.js';
      import { maxPool2d } from './engine/ops/pool.js';
      const x = new Tensor(new Float32Array(16).map((_, i) => i), [1, 1, 4, 4]);
      const w = new Tensor(new Float32Array([1, 1, 1, 1]), [1, 1, 2, 2]);
      console.log(JSON.stringify([conv2d(x, w).toArray(), maxPool2d(x, 2).toArray()]));`);
    expect(out).to.equal('[[10,14,18,26,30,34,42,46,50],[5,7,13,15]]');
  });

  it('kernels/dispatch.ts: the kernels alone, with either kernel set', () => {
    const code = `import { gemm, getKernelBackend } from './engine/kernels/dispatch.js';
      const c = new Float32Array(4);
      gemm(false, false, 2, 2, 2, new Float32Array([1, 2, 3, 4]), 0, new Float32Array([1, 0, 0, 1]), 0, c, 0, false);
      console.log(getKernelBackend() + ' ' + JSON.stringify(Array.from(c)));`;
    expect(runAlone(code)).to.match(/^(wasm|ts) \[1,2,3,4\]$/);
    expect(execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      cwd: repoRoot, encoding: 'utf8', env: { ...process.env, LRP_TAPE_KERNELS: 'ts' },
    }).trim()).to.equal('ts [1,2,3,4]');
  });
});
