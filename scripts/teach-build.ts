/**
 * Builds the teaching page into a static folder (default teach/dist/): the TypeScript entry bundled
 * for browsers by esbuild from the repository's sources (the package's platform-neutral root
 * entry), the HTML and CSS, and the data files the page fetches.
 */
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export const TEACH_DIR = fileURLToPath(new URL('../teach/', import.meta.url));
export const DEFAULT_OUT = join(TEACH_DIR, 'dist');
const DATA = ['digit-cnn.safetensors', 'digits.safetensors', 'decoy-cnn.safetensors'];

export async function buildTeach(outDir = DEFAULT_OUT): Promise<string> {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(join(outDir, 'data'), { recursive: true });
  await build({
    entryPoints: [join(TEACH_DIR, 'page', 'main.ts')],
    outfile: join(outDir, 'main.js'),
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    sourcemap: true,
    minify: true,
    // Layer types are class names (layer.type): minified names would show as 'ht' and break the layer maps.
    keepNames: true,
    logLevel: 'error',
  });
  for (const f of ['index.html', 'style.css']) copyFileSync(join(TEACH_DIR, 'page', f), join(outDir, f));
  for (const f of DATA) copyFileSync(join(TEACH_DIR, 'data', f), join(outDir, 'data', f));
  return outDir;
}
