/**
 * `npm run build` (and `prepare`: npm install in a clone, npm pack): a fresh dist/ with ESM JavaScript, declarations and source maps
 * (sources inlined, so a map works without the .ts files, which are not published), plus
 * kernels.wasm and kernels-relaxed.wasm for users who host the kernel module themselves (the library itself loads the
 * embedded copy in kernels-bytes.ts). A build that fails leaves no half-built dist/ behind.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');

function tscPath(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('typescript/package.json')), 'bin', 'tsc');
}

rmSync(dist, { recursive: true, force: true });
const res = spawnSync(process.execPath, [tscPath(), '-p', join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'inherit' });
if (res.status !== 0) {
  rmSync(dist, { recursive: true, force: true });
  console.error(`build: tsc failed (exit ${res.status ?? res.signal}); dist/ removed`);
  process.exit(1);
}
copyFileSync(join(root, 'engine/kernels/wasm/kernels.wasm'), join(dist, 'engine/kernels/wasm/kernels.wasm'));
copyFileSync(join(root, 'engine/kernels/wasm/kernels-relaxed.wasm'), join(dist, 'engine/kernels/wasm/kernels-relaxed.wasm'));
const bin = join(dist, 'cli/bin.js');
if (!existsSync(bin)) {
  console.error('build: dist/cli/bin.js is missing');
  process.exit(1);
}
chmodSync(bin, 0o755);
console.log(`build: dist/ written`);
