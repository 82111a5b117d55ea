/**
 * A dependency-free SVG of the ledger's layer chain: one box per layer in execution order (name,
 * type, rule, relevance arriving -> passed, what was lost or created), arrows for the data flow.
 * An arrow to the next box goes straight down; a skip connection (residual branch, a tensor used
 * twice) is drawn as an arc on the right, each in its own lane so arcs do not overlap.
 */
import type { RelevanceLedger, LedgerRow } from './ledger.js';
import { num } from './format.js';

export interface LedgerSvgOptions {
  /** Box width in px (default 380). */
  width?: number;
  title?: string;
}

export function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

const COLOURS: Record<LedgerRow['status'], { stroke: string; fill: string }> = {
  conserved: { stroke: '#7f8c8d', fill: '#ffffff' },
  absorbed: { stroke: '#c0392b', fill: '#fbeeec' },
  created: { stroke: '#1e8449', fill: '#eaf6ee' },
  unreached: { stroke: '#bbbbbb', fill: '#f4f4f4' },
};

/** The ledger's layer chain as a standalone SVG document. */
export function ledgerSvg(ledger: RelevanceLedger, opts: LedgerSvgOptions = {}): string {
  const W = opts.width ?? 380;
  const H = 58;
  const GAP = 28;
  const X = 20;
  const TOP = 84;
  const rows = ledger.rows;
  const indexOf = new Map(rows.map((r, i) => [r.key, i]));
  const boxY = (i: number): number => TOP + i * (H + GAP);

  // Edges: from a producing row (or the input, drawn as row -1) to each consumer.
  type Edge = { from: number; to: number };
  const edges: Edge[] = [];
  rows.forEach((r, i) => {
    for (const inp of r.inputs) {
      if (!inp.activation) continue;
      const from = inp.from === 'input' ? -1 : inp.from !== null ? indexOf.get(inp.from) : undefined;
      if (from !== undefined && !edges.some((e) => e.from === from && e.to === i)) edges.push({ from, to: i });
    }
  });
  // Skip edges get lanes: greedy interval colouring by start.
  const skips = edges.filter((e) => e.to !== e.from + 1).sort((a, b) => a.from - b.from || a.to - b.to);
  const laneEnd: number[] = [];
  const lane = new Map<Edge, number>();
  for (const e of skips) {
    let k = laneEnd.findIndex((end) => end <= e.from);
    if (k < 0) k = laneEnd.length;
    laneEnd[k] = e.to;
    lane.set(e, k);
  }
  const totalW = X + W + 30 + laneEnd.length * 14 + 20;
  const totalH = TOP + rows.length * (H + GAP) + 50;

  const out: string[] = [];
  out.push(`<?xml version="1.0" encoding="UTF-8"?>`);
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${totalW}" height="${totalH}" viewBox="0 0 ${totalW} ${totalH}" font-family="Helvetica, Arial, sans-serif">`);
  out.push(`<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M 0 0 L 10 5 L 0 10 z" fill="#555555"/></marker></defs>`);
  out.push(`<rect x="0" y="0" width="${totalW}" height="${totalH}" fill="#ffffff"/>`);
  const t = ledger.totals;
  const title = opts.title ?? `relevance ledger: ${ledger.composite ?? 'plain gradient'}`;
  out.push(`<text x="${X}" y="22" font-size="14" font-weight="bold">${xmlEscape(title)}</text>`);
  out.push(`<text x="${X}" y="38" font-size="11" fill="#333333">${xmlEscape(`seed ${num(t.seed)} -> input ${num(t.input)}`)}</text>`);
  out.push(`<text x="${X}" y="52" font-size="11" fill="#333333">${xmlEscape(`absorbed ${num(t.absorbed)}: bias ${num(t.bias)}, stabilizer ${num(t.stabilizer)}${t.gradient ? `, gradient ${num(t.gradient)}` : ''}`)}</text>`);
  // Input marker above the first box.
  out.push(`<text x="${X + W / 2}" y="${TOP - 12}" font-size="11" text-anchor="middle" fill="#333333">input</text>`);

  const cx = X + W / 2;
  for (const e of edges) {
    const y0 = e.from < 0 ? TOP - 8 : boxY(e.from) + H;
    const y1 = boxY(e.to);
    if (!lane.has(e)) {
      out.push(`<line class="edge" x1="${cx}" y1="${y0}" x2="${cx}" y2="${y1 - 1}" stroke="#555555" stroke-width="1.2" marker-end="url(#arrow)"/>`);
    } else {
      const xr = X + W + 16 + lane.get(e)! * 14;
      const ys = e.from < 0 ? TOP - 8 : boxY(e.from) + H / 2;
      const ye = y1 + H / 2;
      const xs = e.from < 0 ? cx : X + W;
      out.push(`<path class="edge skip" d="M ${xs} ${ys} H ${xr} V ${ye} H ${X + W + 1}" fill="none" stroke="#555555" stroke-width="1.2" marker-end="url(#arrow)"/>`);
    }
  }
  rows.forEach((r, i) => {
    const y = boxY(i);
    const c = COLOURS[r.status];
    const dash = r.status === 'unreached' ? ' stroke-dasharray="4 3"' : '';
    out.push(`<g class="layer" data-key="${xmlEscape(r.key)}" data-status="${r.status}">`);
    out.push(`<rect x="${X}" y="${y}" width="${W}" height="${H}" rx="6" fill="${c.fill}" stroke="${c.stroke}" stroke-width="1.5"${dash}/>`);
    out.push(`<text x="${X + 10}" y="${y + 17}" font-size="12" font-weight="bold">${xmlEscape(r.key || '(root)')}<tspan dx="8" font-weight="normal" fill="#555555">${xmlEscape(r.type)}</tspan></text>`);
    out.push(`<text x="${X + W - 10}" y="${y + 17}" font-size="11" text-anchor="end" fill="#1f4e79">${xmlEscape(r.rule)}</text>`);
    out.push(`<text x="${X + 10}" y="${y + 34}" font-size="11">${xmlEscape(`R ${num(r.arriving)} -> ${num(r.passed)}${r.ratio === null ? '' : `  (x${r.ratio.toFixed(4)})`}`)}</text>`);
    const noteText =
      r.status === 'absorbed' || r.status === 'created'
        ? `${r.status === 'absorbed' ? 'lost' : 'created'} ${num(Math.abs(r.absorbed))} (${r.cause})${r.bias ? `, bias ${num(r.bias)}` : ''}`
        : r.status === 'unreached' ? 'not reached by the backward' : 'conserved';
    out.push(`<text x="${X + 10}" y="${y + 50}" font-size="10" fill="${c.stroke}">${xmlEscape(noteText)}</text>`);
    out.push('</g>');
  });
  const yEnd = boxY(rows.length) - GAP;
  out.push(`<line class="edge" x1="${cx}" y1="${yEnd}" x2="${cx}" y2="${yEnd + 20}" stroke="#555555" stroke-width="1.2" marker-end="url(#arrow)"/>`);
  out.push(`<text x="${cx}" y="${yEnd + 34}" font-size="11" text-anchor="middle" fill="#333333">output</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}
