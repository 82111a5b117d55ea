export interface ScenarioResult {
  backend: 'wasm' | 'ts';
  output: number[];
  flat: number[];
  box: number[];
}
export function scenario(lib: typeof import('../../index.js')): ScenarioResult;
export function maxAbsDiff(a: readonly number[], b: readonly number[]): number;
