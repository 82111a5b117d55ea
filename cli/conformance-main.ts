/**
 * `npm run conformance -- [DIR|FILE]`: runs reference cases (default: the project's own copy in
 * spec/fixtures/zennit) and prints one line per case, then `N passed, N failed`.
 */
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import '../engine/index.js';
import { formatResult, runConformance } from '../conformance/index.js';
import { reportError } from './errors.js';

export const defaultCaseDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'spec', 'fixtures', 'zennit');

export function conformanceCommand(dir: string = defaultCaseDir): number {
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
