import { expect } from 'chai';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import '../../engine/index.js';
import { formatResult } from '../../conformance/index.js';
import { caseFiles, runCaseFile } from '../../node/index.js';
import { defaultCaseDir } from '../../cli/conformance-main.js';

/**
 * One reference-case set: every case file of spec/fixtures/<set> runs and passes. Missing fixtures
 * must fail the suite, never shrink it: an absent folder registers no case tests, so the first test
 * is what turns that into a failure.
 */
function caseSet(set: string, title: string, carries: string, minCases: number, check?: (name: string, r: ReturnType<typeof runCaseFile>) => void): void {
  const dir = join(defaultCaseDir, '..', set);
  const files = existsSync(dir) ? caseFiles(dir) : [];

  describe(`reference cases (${title}, spec/fixtures/${set})`, () => {
    it(`the project carries the ${carries}`, () => {
      expect(existsSync(dir), `${dir} is missing: copy ../shared/fixtures/${set} there`).to.equal(true);
      expect(files.length).to.be.at.least(minCases);
    });

    it(`the copy is byte-identical to ../shared/fixtures/${set} (skipped where ../shared is absent, as in a fresh clone)`, function () {
      const shared = join(dir, '..', '..', '..', '..', 'shared', 'fixtures', set);
      if (!existsSync(shared)) this.skip();
      const names = readdirSync(shared).filter((f) => f.endsWith('.safetensors')).sort();
      expect(files.map((f) => f.split('/').pop())).to.deep.equal(names);
      for (const n of names) expect(readFileSync(join(shared, n)).equals(readFileSync(join(dir, n))), n).to.equal(true);
    });

    for (const f of files) {
      const name = f.split('/').pop()!.replace('.safetensors', '');
      it(name, () => {
        const r = runCaseFile(f);
        expect(r.ok, formatResult(r)).to.equal(true);
        expect(r.checks.map((c) => c.tensor)).to.include.members(['output', 'relevance']);
        check?.(name, r);
      });
    }
  });
}

caseSet('zennit', 'zennit', 'public cases', 98);
caseSet('lxt', 'LXT transformers', '16 public cases', 16, (name, r) => {
  if (name.endsWith('-egl')) expect(r.checks.filter((c) => c.tensor.startsWith('grad/')).length).to.be.greaterThan(5);
});
