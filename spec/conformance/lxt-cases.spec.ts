import { expect } from 'chai';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import '../../engine/index.js';
import { formatResult } from '../../conformance/index.js';
import { caseFiles, runCaseFile } from '../../node/index.js';
import { defaultCaseDir } from '../../cli/conformance-main.js';

const lxtDir = join(defaultCaseDir, '..', 'lxt');
// Missing fixtures must fail the suite, never shrink it: an absent folder gives no case tests, so
// the first test below is what turns that into a failure.
const files = existsSync(lxtDir) ? caseFiles(lxtDir) : [];

describe('reference cases (LXT transformers, spec/fixtures/lxt)', () => {
  it('the project carries the 16 public cases', () => {
    expect(existsSync(lxtDir), `${lxtDir} is missing: copy ../shared/fixtures/lxt there`).to.equal(true);
    expect(files.length).to.be.at.least(16);
  });

  it('the copy is byte-identical to ../shared/fixtures/lxt (skipped where ../shared is absent, as in a fresh clone)', function () {
    const shared = join(lxtDir, '..', '..', '..', '..', 'shared', 'fixtures', 'lxt');
    if (!existsSync(shared)) this.skip();
    const names = readdirSync(shared).filter((f) => f.endsWith('.safetensors')).sort();
    expect(files.map((f) => f.split('/').pop())).to.deep.equal(names);
    for (const n of names) expect(readFileSync(join(shared, n)).equals(readFileSync(join(lxtDir, n))), n).to.equal(true);
  });

  for (const f of files) {
    const name = f.split('/').pop()!.replace('.safetensors', '');
    it(name, () => {
      const r = runCaseFile(f);
      expect(r.ok, formatResult(r)).to.equal(true);
      expect(r.checks.map((c) => c.tensor)).to.include.members(['output', 'relevance']);
      if (name.endsWith('-egl')) expect(r.checks.filter((c) => c.tensor.startsWith('grad/')).length).to.be.greaterThan(5);
    });
  }
});
