/**
 * Builds engine/kernels/wasm/kernels.wasm from the AssemblyScript source in
 * engine/kernels/wasm/assembly/ with the compiler from npm (devDependency `assemblyscript`).
 *
 *   npm run build:wasm                              rewrite kernels.wasm
 *   node --import tsx scripts/build-wasm.ts --check exit 1 when kernels.wasm is stale
 *
 * The binary is committed as a generated artifact, so a fresh clone (or an install without dev
 * dependencies) has the fast kernels without running a compiler; spec/kernels-wasm-build.spec.ts
 * rebuilds it in memory and fails when the committed bytes differ from what the source gives.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const wasmDir = new URL('../engine/kernels/wasm/', import.meta.url);
/** Relative to the repository root, which is the compiler's working directory: the bytes must not depend on where the clone lives. */
const wasmSourceRel = 'engine/kernels/wasm/assembly/kernels.ts';
export const wasmSourcePath = join(repoRoot, wasmSourceRel);
export const wasmOutputPath = fileURLToPath(new URL('kernels.wasm', wasmDir));

/**
 * Compiler flags. The stub runtime (no GC, no allocator: the JavaScript side lays out memory),
 * no assertions, speed-optimised, SIMD on. 16 initial pages = 1 MiB; the JavaScript side grows it.
 */
export const ascFlags = [
  '--runtime', 'stub',
  '--noAssert',
  '--optimizeLevel', '3',
  '--shrinkLevel', '0',
  '--enable', 'simd',
  '--initialMemory', '16',
];

/**
 * Compiles the AssemblyScript source and returns the module's bytes (nothing is written into the
 * tree). The compiler runs in a plain child `node`: under a TypeScript loader hook (tsx), importing
 * binaryen's 10 MB of JavaScript in-process takes ten times longer.
 */
export function buildWasm(): Uint8Array {
  const require = createRequire(import.meta.url);
  const ascBin = join(dirname(require.resolve('assemblyscript/package.json')), 'bin', 'asc.js');
  const dir = mkdtempSync(join(tmpdir(), 'lrp-tape-wasm-'));
  try {
    const out = join(dir, 'kernels.wasm');
    const res = spawnSync(process.execPath, [ascBin, wasmSourceRel, '--outFile', out, ...ascFlags], { cwd: repoRoot, encoding: 'utf8' });
    if (res.status !== 0) throw new Error(`asc failed (exit ${res.status}):\n${res.stderr}${res.stdout}`);
    return new Uint8Array(readFileSync(out));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const bytes = buildWasm();
  if (process.argv.includes('--check')) {
    let have: Uint8Array;
    try {
      have = readFileSync(wasmOutputPath);
    } catch {
      have = new Uint8Array(0);
    }
    if (!same(have, bytes)) {
      console.error('engine/kernels/wasm/kernels.wasm is stale; run npm run build:wasm');
      process.exit(1);
    }
    console.log(`kernels.wasm is up to date (${bytes.length} bytes)`);
  } else {
    writeFileSync(wasmOutputPath, bytes);
    console.log(`wrote ${wasmOutputPath} (${bytes.length} bytes)`);
  }
}
