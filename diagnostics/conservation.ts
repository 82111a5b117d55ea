/**
 * Is an explanation's relevance conserved up to what its rules explain? LRP rules lose relevance
 * to biases and stabilizers by design (the ledger measures both); relevance created or lost by a
 * layer without an LRP rule (a plain gradient through a residual addition, an unknown rule) is
 * not explained, and usually means a canonizer is missing.
 */
import type { LedgerRow, RelevanceLedger } from './ledger.js';

export interface ConservationProblem {
  /** Relevance at the output (the seed) and at the input. */
  seed: number;
  input: number;
  /** |created or lost by layers without an LRP explanation| / |seed|. */
  unexplainedShare: number;
  /** The layers responsible (each more than 0.1% of the seed), largest first. */
  layers: { key: string; type: string; rule: string; amount: number }[];
}

/** The part of a row's difference its rule does not explain. */
function unexplained(row: LedgerRow): number {
  const byRule = row.restKind === 'gradient' || row.restKind === 'rule' ? row.rest : 0;
  return byRule;
}

/**
 * Null when the relevance lost or created beyond the rules' bias and stabilizer shares is at most
 * `threshold` (default 10%) of the seed; otherwise the amounts and the layers, largest first.
 */
export function conservationProblem(ledger: RelevanceLedger, threshold = 0.1): ConservationProblem | null {
  const seed = ledger.totals.seed;
  const all = ledger.rows.map((r) => ({ key: r.key, type: r.type, rule: r.rule, amount: unexplained(r) }));
  const total = all.reduce((a, r) => a + Math.abs(r.amount), 0) + Math.abs(ledger.totals.unaccounted);
  // Rounding-sized differences (a max pool's gradient) are not worth naming.
  const rows = all.filter((r) => Math.abs(r.amount) > 1e-3 * Math.abs(seed));
  const share = seed !== 0 ? total / Math.abs(seed) : total > 0 ? Infinity : 0;
  if (!(share > threshold)) return null;
  rows.sort((a, b) => Math.abs(b.amount) - Math.abs(a.amount));
  return { seed, input: ledger.totals.input, unexplainedShare: share, layers: rows };
}
