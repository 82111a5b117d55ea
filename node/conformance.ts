import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CaseError, runCase, type CaseResult } from '../conformance/index.js';
import { readSafetensorsFile } from './safetensors-file.js';

/** The case files of a directory (sorted), or the one file given. */
export function caseFiles(dirOrFile: string): string[] {
  let st;
  try {
    st = statSync(dirOrFile);
  } catch {
    throw new CaseError(`no such file or directory: ${dirOrFile}`);
  }
  if (st.isFile()) return [dirOrFile];
  return readdirSync(dirOrFile)
    .filter((f) => f.endsWith('.safetensors'))
    .sort()
    .map((f) => join(dirOrFile, f));
}

/** Runs one case file; an unreadable file becomes a failed result like any other failure. */
export function runCaseFile(path: string): CaseResult {
  return runCase(() => readFileSync(path), path);
}

export interface ConformanceSummary {
  results: CaseResult[];
  passed: number;
  failed: number;
}

export function runConformance(dirOrFile: string, onResult?: (r: CaseResult) => void): ConformanceSummary {
  const results: CaseResult[] = [];
  for (const f of caseFiles(dirOrFile)) {
    const r = runCaseFile(f);
    results.push(r);
    onResult?.(r);
  }
  const passed = results.filter((r) => r.ok).length;
  return { results, passed, failed: results.length - passed };
}
