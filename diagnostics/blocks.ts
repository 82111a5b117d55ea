/**
 * The relevance ledger summed per block: a transformer's `blocks.3` (its norms, attention, MLP and
 * the functional ops they ran, which carry their module's name as `scope`), a ResNet's `layer2.1`,
 * a Sequential's `features.4`.
 */
import type { Recording } from '../engine/index.js';
import type { RelevanceLedger } from './ledger.js';

export interface BlockLedgerRow {
  /** The group: the dotted path up to its first numeric part ('blocks.3'), else its first part ('head'), '(root)' for ops of the root module. */
  block: string;
  /** Ledger rows (layers and functional ops) in the group. */
  layers: number;
  /** Sums over the group's rows (see LedgerRow). */
  absorbed: number;
  bias: number;
  detached: number;
  rest: number;
  /** |absorbed| as a share of |seed total|. */
  share: number;
}

/** The default grouping: up to the first numeric part of the path, else the first part. */
export function blockOf(path: string): string {
  if (path === '') return '(root)';
  const parts = path.split('.');
  const n = parts.findIndex((p) => /^\d+$/.test(p));
  return n >= 0 ? parts.slice(0, n + 1).join('.') : parts[0]!;
}

/** One row per block, in the order blocks first appear in the forward. */
export function ledgerByBlock(ledger: RelevanceLedger, recording: Recording, groupOf: (path: string) => string = blockOf): BlockLedgerRow[] {
  const out = new Map<string, BlockLedgerRow>();
  const scale = Math.abs(ledger.totals.seed) || 1;
  for (const r of ledger.rows) {
    const layer = recording.layers[r.index]!;
    const path = layer.kind.startsWith('op:') ? layer.scope ?? '' : layer.name;
    const block = groupOf(path);
    const row = out.get(block) ?? { block, layers: 0, absorbed: 0, bias: 0, detached: 0, rest: 0, share: 0 };
    row.layers++;
    row.absorbed += r.absorbed;
    row.bias += r.bias ?? 0;
    row.detached += r.detached;
    row.rest += r.rest;
    row.share = Math.abs(row.absorbed) / scale;
    out.set(block, row);
  }
  return [...out.values()];
}
