/**
 * Regenerates engine/kernels/ts/gemm-f64.ts from gemm-f32.ts. Two textual copies rather than one
 * generic function because V8 specialises optimised code per typed-array kind; a single shared
 * kernel fed both dtypes would go polymorphic in its innermost loop.
 *
 *   node --import tsx scripts/gemm-codegen.ts          rewrite gemm-f64.ts
 *   node --import tsx scripts/gemm-codegen.ts --check  exit 1 when it is stale
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const kernelsDir = new URL('../engine/kernels/ts/', import.meta.url);
export const f32Path = fileURLToPath(new URL('gemm-f32.ts', kernelsDir));
export const f64Path = fileURLToPath(new URL('gemm-f64.ts', kernelsDir));

const banner = '// GENERATED from gemm-f32.ts by scripts/gemm-codegen.ts: edit that file, then regenerate.\n';

export function deriveF64(f32Source: string): string {
  return banner + f32Source.replace(/Float32Array/g, 'Float64Array').replace(/F32\b/g, 'F64');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const want = deriveF64(readFileSync(f32Path, 'utf8'));
  if (process.argv.includes('--check')) {
    const have = readFileSync(f64Path, 'utf8');
    if (have !== want) {
      console.error('gemm-f64.ts is stale; run node --import tsx scripts/gemm-codegen.ts');
      process.exit(1);
    }
  } else {
    writeFileSync(f64Path, want);
  }
}
