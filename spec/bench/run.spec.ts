import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Smoke test of the benchmark's JSON mode: it runs and prints one parseable line. No timing is asserted. */
function quickRun(...extra: string[]): Record<string, unknown> {
  const stdout = execFileSync(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'bench', 'run.ts'), '--only', 'gemm-256', '--runs', '1', '--warmup', '0', '--quick', '--threads', '1', '--json', ...extra],
    { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const lines = stdout.trim().split('\n');
  expect(lines).to.have.length(1);
  return JSON.parse(lines[0]!) as Record<string, unknown>;
}

describe('bench/run.ts --json', () => {
  it('prints exactly one JSON line with the documented fields for one quick workload', () => {
    const r = quickRun();
    expect(r.name).to.equal('gemm-256');
    for (const k of ['median_ms', 'min_ms', 'max_ms', 'gflops', 'peak_rss_mb']) expect(r[k], k).to.be.a('number');
    expect(r.threads).to.equal(1);
    expect(r.runs).to.equal(1);
    expect(r.kernels).to.be.oneOf(['ts', 'wasm']);
    // Steady state unless asked otherwise.
    expect(r.gc_between_runs).to.equal(false);
  });

  it('--gc-between-runs is recorded in the result', () => {
    expect(quickRun('--gc-between-runs').gc_between_runs).to.equal(true);
  });

  it('rejects an unknown workload with exit code 2', () => {
    let status: number | null = null;
    try {
      execFileSync(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'run.ts'), '--only', 'no-such-workload', '--json'], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (e) {
      status = (e as { status: number | null }).status;
    }
    expect(status).to.equal(2);
  });
});
