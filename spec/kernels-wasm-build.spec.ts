import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { buildWasm, wasmOutputPath } from '../scripts/build-wasm.js';

describe('kernels: committed kernels.wasm', function () {
  it('is what the AssemblyScript source compiles to (run npm run build:wasm after editing it)', function () {
    this.timeout(120000);
    const built = buildWasm();
    const committed = readFileSync(wasmOutputPath);
    const same = built.length === committed.length && built.every((b, i) => b === committed[i]);
    expect(same, 'engine/kernels/wasm/kernels.wasm is stale: run npm run build:wasm and commit it').to.equal(true);
  });
});
