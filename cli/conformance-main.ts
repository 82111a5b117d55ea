/**
 * `npm run conformance -- [DIR|FILE]`: runs reference cases (default: the project's own copy in
 * spec/fixtures/zennit) and prints one line per case, then `N passed, N failed`.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import '../engine/index.js';
import { formatResult } from '../conformance/index.js';
import { runConformance } from '../node/index.js';
import { reportError } from './errors.js';

export const defaultCaseDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'spec', 'fixtures', 'zennit');

export function conformanceCommand(dir: string = defaultCaseDir): number {
  if (dir === defaultCaseDir && !existsSync(dir)) {
    // The reference cases are test fixtures: they are not published with the package.
    console.error('conformance: this installation has no reference cases (they are not published with the package); pass a folder of cases, e.g. a clone\'s spec/fixtures/zennit');
    console.log('0 passed, 1 failed');
    return 2;
  }
  try {
    const { passed, failed } = runConformance(dir, (r) => console.log(formatResult(r)));
    console.log(`${passed} passed, ${failed} failed`);
    return failed ? 1 : 0;
  } catch (e) {
    console.log('0 passed, 1 failed');
    return reportError('conformance', e);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = conformanceCommand(process.argv[2]);
}
