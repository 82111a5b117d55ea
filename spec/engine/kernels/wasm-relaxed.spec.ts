import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
const probe = fileURLToPath(new URL('../../support/relaxed-probe.ts', import.meta.url));
const hasBuiltinLoader = typeof (process as { getBuiltinModule?: unknown }).getBuiltinModule === 'function';

interface ProbeResult {
  backend: string;
  wasmVariant: string | null;
  wasmRelaxedNote: string | null;
  worst: Record<string, number>;
  workers: boolean;
  split: number;
  threadedSame: boolean;
}

/** The probe in a fresh Node with these V8 flags and LRP_TAPE_WASM_RELAXED (undefined: unset). */
function runProbe(flags: string[], relaxedEnv: string | undefined): ProbeResult {
  const env: NodeJS.ProcessEnv = { ...process.env, LRP_TAPE_KERNELS: '' };
  delete env.LRP_TAPE_WASM_RELAXED;
  if (relaxedEnv !== undefined) env.LRP_TAPE_WASM_RELAXED = relaxedEnv;
  const out = execFileSync(process.execPath, [...flags, '--import', 'tsx', probe], { cwd: repoRoot, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return JSON.parse(out.trim().split('\n').pop()!) as ProbeResult;
}

function expectWithinOracle(r: ProbeResult): void {
  expect(Object.keys(r.worst).sort()).to.deep.equal(['conv float32', 'conv float64', 'gemm float32', 'gemm float64']);
  for (const [what, ratio] of Object.entries(r.worst)) {
    if (!(ratio <= 1)) expect.fail(`${r.wasmVariant} ${what}: error ${ratio.toFixed(2)}x the tolerance against the reference`);
  }
  expect(r.workers, 'kernel workers did not start').to.equal(true);
  expect(r.split, 'no product was split over the workers (they ran another module variant?)').to.be.greaterThan(0);
  expect(r.threadedSame, 'two threads gave other bits than one').to.equal(true);
}

describe('kernels: relaxed SIMD (fused multiply-add) WebAssembly module', function () {
  this.timeout(240000);

  before(function () {
    if (!hasBuiltinLoader) this.skip();
  });

  it('with --experimental-wasm-relaxed-simd the relaxed module loads, matches the reference and stays bit-identical over threads', function () {
    const r = runProbe(['--experimental-wasm-relaxed-simd'], undefined);
    expect([r.backend, r.wasmVariant, r.wasmRelaxedNote]).to.deep.equal(['wasm', 'relaxed-simd', null]);
    expectWithinOracle(r);
  });

  it('LRP_TAPE_WASM_RELAXED=0 keeps the plain SIMD module although the runtime has relaxed SIMD', function () {
    const r = runProbe(['--experimental-wasm-relaxed-simd'], '0');
    expect([r.backend, r.wasmVariant, r.wasmRelaxedNote]).to.deep.equal(['wasm', 'simd', 'relaxed SIMD switched off (LRP_TAPE_WASM_RELAXED=0 or setWasmRelaxedSimd(false))']);
    expectWithinOracle(r);
  });

  it('without the flag (Node 20) the plain SIMD module runs, and the status says why', function () {
    const r = runProbe(['--no-experimental-wasm-relaxed-simd'], undefined);
    expect([r.backend, r.wasmVariant, r.wasmRelaxedNote]).to.deep.equal(['wasm', 'simd', 'this runtime lacks WebAssembly relaxed SIMD (Node 20: node --experimental-wasm-relaxed-simd)']);
    expectWithinOracle(r);
  });
});
