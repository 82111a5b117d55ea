import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { buildWasm, bytesModuleSource, wasmBytesModulePath, wasmOutputPath } from '../../../scripts/build-wasm.js';
import { KERNELS_WASM_BASE64 } from '../../../engine/kernels/wasm/kernels-bytes.js';

describe('kernels: committed kernels.wasm', function () {
  it('is what the AssemblyScript source compiles to (run npm run build:wasm after editing it)', function () {
    this.timeout(120000);
    const built = buildWasm();
    const committed = readFileSync(wasmOutputPath);
    const same = built.length === committed.length && built.every((b, i) => b === committed[i]);
    expect(same, 'engine/kernels/wasm/kernels.wasm is stale: run npm run build:wasm and commit it').to.equal(true);
  });

  it('kernels-bytes.ts (what the library loads) carries exactly the committed kernels.wasm', function () {
    const committed = readFileSync(wasmOutputPath);
    expect(readFileSync(wasmBytesModulePath, 'utf8')).to.equal(bytesModuleSource(committed));
    expect(Buffer.from(KERNELS_WASM_BASE64, 'base64').equals(committed)).to.equal(true);
  });
});
