/** Terminal renderings of the ledger and the coverage report: aligned plain-text tables. */
import type { RelevanceLedger, LedgerRow } from './ledger.js';
import type { Coverage } from './coverage.js';

type Align = 'l' | 'r';

/** Aligned columns; every cell is a string, widths from the widest cell. */
export function table(header: readonly string[], rows: readonly (readonly string[])[], align: readonly Align[], gap = '  '): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (align[i] === 'r' ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join(gap)
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

/** Six significant digits, exponent notation for tiny or huge values, '0' for zero. */
export function num(x: number | null): string {
  if (x === null) return '-';
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e-3 && a < 1e6) return x.toPrecision(6);
  return x.toExponential(2);
}

const display = (key: string): string => (key === '' ? '(root)' : key);

function note(r: LedgerRow): string {
  if (r.status === 'unreached') return 'not reached';
  if (r.status === 'conserved') return '';
  return `${r.status === 'absorbed' ? 'lost' : 'created'}: ${r.cause}`;
}

export interface FormatLedgerOptions {
  /** Leave out rows that conserve exactly what arrives (pass-through layers). Default false. */
  hideConserved?: boolean;
}

/** The ledger as an aligned table with totals and the lists of layers that lose or create relevance. */
export function formatLedger(ledger: RelevanceLedger, opts: FormatLedgerOptions = {}): string {
  const t = ledger.totals;
  const rows = ledger.rows.filter((r) => !(opts.hideConserved && r.status === 'conserved'));
  const out: string[] = [];
  out.push(`relevance ledger: ${ledger.composite ?? 'plain gradient'}, ${ledger.dtype}, batch ${ledger.batch}, ${ledger.rows.length} layers${ledger.hiddenLayers ? ` (+${ledger.hiddenLayers} on parameters only, not shown)` : ''}`);
  out.push('');
  out.push(
    ...table(
      ['#', 'layer', 'type', 'rule', 'arriving', 'passed', 'absorbed', 'bias', 'rest', 'ratio', 'note'],
      rows.map((r) => [
        String(r.index),
        display(r.key),
        r.type,
        r.rule,
        num(r.arriving),
        num(r.passed),
        num(r.absorbed),
        num(r.bias),
        num(r.rest),
        r.ratio === null ? '-' : r.ratio.toFixed(6),
        note(r),
      ]),
      ['r', 'l', 'l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'l'],
    ).map((l) => `  ${l}`),
  );
  out.push('');
  out.push('  absorbed = arriving - passed = bias + rest (+ detached); rest is the stabilizer for LRP rules, the non-conservation of the VJP for gradient layers');
  const kept = t.seed === 0 ? '' : ` (${((100 * t.input) / t.seed).toFixed(2)} % of the seed)`;
  out.push(`seed total ${num(t.seed)} -> input total ${num(t.input)}${kept}; difference ${num(t.difference)}`);
  // Round-off (a routing layer's 1e-16) is not worth a term of its own.
  const noise = 1e-12 * Math.max(Math.abs(t.seed), Math.abs(t.input));
  const parts = [`bias ${num(t.bias)}`, `stabilizer ${num(t.stabilizer)}`];
  if (Math.abs(t.gradient) > noise) parts.push(`gradient ${num(t.gradient)}`);
  if (Math.abs(t.rule) > noise) parts.push(`other rules ${num(t.rule)}`);
  if (Math.abs(t.detached) > noise) parts.push(`detached ${num(t.detached)}`);
  out.push(`absorbed by the layers ${num(t.absorbed)} = ${parts.join(' + ')}; unaccounted ${num(t.unaccounted)}`);
  const list = (es: RelevanceLedger['lost']): string => (es.length ? es.map((e) => `${display(e.key)} ${num(e.amount)} (${e.cause})`).join(', ') : 'none');
  out.push(`lost at:    ${list(ledger.lost)}`);
  out.push(`created at: ${list(ledger.created)}`);
  if (ledger.unreached.length) out.push(`not reached by the backward: ${ledger.unreached.map(display).join(', ')}`);
  return out.join('\n');
}

/** The coverage report: every layer on the input's path with its rule, then the warnings. */
export function formatCoverage(c: Coverage): string {
  const out: string[] = [];
  out.push(
    `rule coverage: ${c.composite ?? 'plain gradient'}${c.lrp ? ' (LRP)' : ''}: ${c.withRule.length} with a rule, ${c.gradient.length} plain gradient, ${c.uncovered.length} uncovered` +
      (c.hiddenLayers ? ` (+${c.hiddenLayers} layers on parameters only)` : ''),
  );
  out.push('');
  out.push(
    ...table(
      ['#', 'layer', 'type', 'kind', 'rule', 'status'],
      c.layers.map((l) => [String(l.index), display(l.key), l.type, l.kind, l.rule ?? 'gradient', l.status === 'uncovered' ? 'UNCOVERED' : l.status]),
      ['r', 'l', 'l', 'l', 'l', 'l'],
    ).map((l) => `  ${l}`),
  );
  if (c.warnings.length) {
    out.push('');
    for (const w of c.warnings) out.push(`${w.severity === 'warning' ? 'warning' : 'info'}: ${display(w.key)} [${w.code}]: ${w.message}`);
  } else if (c.lrp) {
    out.push('');
    out.push('no warnings: every layer on the input path has a rule or a gradient the LRP presets use too');
  }
  return out.join('\n');
}
