/**
 * Conservation / completeness (Bach et al. 2015; Montavon et al. 2019): the input relevance of an
 * image should sum to the explained output, and each layer should pass on what arrives at it, up
 * to what the bias and the stabiliser absorb. Read from the relevance ledger (diagnostics/).
 */
import type { Tensor } from '../engine/index.js';
import type { Composite } from '../composites/index.js';
import { oneHotSeed, recordForward, type Forward } from '../attribution/index.js';
import { relevanceLedger, type LedgerOptions } from '../diagnostics/index.js';
import { checkTargets } from './checks.js';
import * as E from '../engine/index.js';

export interface ConservationResult {
  /** Per image: the explained output (the target's logit), the sum of input relevance, and input / output. */
  perImage: { output: number; input: number; ratio: number }[];
  /** Per layer on the input's path (execution order): relevance arriving, passed on, passed / arriving. */
  layers: { key: string; rule: string; arriving: number; passed: number; ratio: number | null; bias: number | null }[];
}

/**
 * The seed is the target's logit on its one-hot position (zennit's `output * one_hot`), so a
 * conserving explanation's input relevance sums to that logit.
 */
export function conservation(model: Forward, x: Tensor, targets: ArrayLike<number>, composite: Composite | null, opts: LedgerOptions = {}): ConservationResult {
  const rec = recordForward(model, x);
  checkTargets(targets, rec.output.shape[0]!, rec.output.shape[1]!);
  const seed = (out: Tensor) => E.mul(oneHotSeed(out, targets), out.detach());
  const ledger = relevanceLedger(rec, seed, composite, opts);
  const { seedPerSample, inputPerSample } = ledger.totals;
  return {
    perImage: seedPerSample.map((s, i) => ({ output: s, input: inputPerSample[i]!, ratio: s === 0 ? NaN : inputPerSample[i]! / s })),
    layers: ledger.rows.filter((r) => r.status !== 'unreached').map((r) => ({ key: r.key, rule: r.rule, arriving: r.arriving, passed: r.passed, ratio: r.ratio, bias: r.bias })),
  };
}
