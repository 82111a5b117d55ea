import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { buildWasmModules, bytesModuleSource, wasmBytesModulePath, wasmOutputPath, wasmRelaxedOutputPath } from '../../../scripts/build-wasm.js';
import { KERNELS_RELAXED_WASM_BASE64, KERNELS_WASM_BASE64 } from '../../../engine/kernels/wasm/kernels-bytes.js';

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

describe('kernels: committed kernels.wasm and kernels-relaxed.wasm', function () {
  it('are what the AssemblyScript source compiles to, with plain and with relaxed SIMD (run npm run build:wasm after editing it)', function () {
    this.timeout(180000);
    const built = buildWasmModules();
    expect(sameBytes(built.plain, readFileSync(wasmOutputPath)), 'engine/kernels/wasm/kernels.wasm is stale: run npm run build:wasm and commit it').to.equal(true);
    expect(sameBytes(built.relaxed, readFileSync(wasmRelaxedOutputPath)), 'engine/kernels/wasm/kernels-relaxed.wasm is stale: run npm run build:wasm and commit it').to.equal(true);
    // The relaxed build must really differ (the flag reached the compiler and the source tests it).
    expect(sameBytes(built.plain, built.relaxed)).to.equal(false);
  });

  it('kernels-bytes.ts (what the library loads) carries exactly the committed modules', function () {
    const plain = readFileSync(wasmOutputPath);
    const relaxed = readFileSync(wasmRelaxedOutputPath);
    expect(readFileSync(wasmBytesModulePath, 'utf8')).to.equal(bytesModuleSource(plain, relaxed));
    expect(Buffer.from(KERNELS_WASM_BASE64, 'base64').equals(plain)).to.equal(true);
    expect(Buffer.from(KERNELS_RELAXED_WASM_BASE64, 'base64').equals(relaxed)).to.equal(true);
  });
});
