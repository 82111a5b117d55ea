/**
 * The relevance ledger summed per block: a transformer's `blocks.3` (its norms, attention, MLP and
 * the functional ops they ran, which carry their module's name as `scope`), a ResNet's `layer2.1`,
 * a Sequential's `features.4`.
 */
import type { Recording, Tensor } from '../engine/index.js';
import type { RelevanceLedger } from './ledger.js';
import type { Trace } from './trace.js';

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

export interface HeadLedgerRow {
  /** The attention module ('blocks.3.attn'). */
  scope: string;
  head: number;
  /** Relevance arriving at the head's output o = A @ v. */
  arriving: number;
  /** Passed to the head's values v. */
  toValues: number;
  /** Passed to the head's attention weights A (0 under CP-LRP, which holds them constant). */
  toWeights: number;
  /** arriving - toValues - toWeights (the uniform rule's stabiliser). */
  absorbed: number;
}

/** Sum over every axis but axis 1 (heads of a [B, H, T, d] tensor). */
function perHead(t: Tensor | null | undefined, heads: number): number[] {
  const out = new Array<number>(heads).fill(0);
  if (!t) return out;
  const inner = t.size / (t.shape[0]! * heads);
  for (let i = 0; i < t.size; i++) out[Math.floor(i / inner) % heads]! += t.data[i]!;
  return out;
}

/**
 * A row per attention head: the relevance at each head's A @ v and how it splits between the values
 * and the attention weights, from a traced explanation (`traceExplanation`). A @ v is recognised as
 * a matmul of 4-D activations whose first factor is a softmax output.
 */
export function ledgerByHead(trace: Trace): HeadLedgerRow[] {
  const rows: HeadLedgerRow[] = [];
  for (const layer of trace.recorded.recording.layers) {
    const a = layer.inputs[0];
    if (layer.kind !== 'op:matmul' || layer.output.ndim !== 4 || a?.layer?.kind !== 'op:softmax') continue;
    const tr = trace.layers.get(layer);
    const heads = layer.output.shape[1]!;
    const arriving = perHead(tr?.relevanceOut, heads);
    const toWeights = perHead(tr?.relevanceIn[0], heads);
    const toValues = perHead(tr?.relevanceIn[1], heads);
    for (let h = 0; h < heads; h++) {
      rows.push({ scope: layer.scope ?? '', head: h, arriving: arriving[h]!, toValues: toValues[h]!, toWeights: toWeights[h]!, absorbed: arriving[h]! - toValues[h]! - toWeights[h]! });
    }
  }
  return rows;
}
