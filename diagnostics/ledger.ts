/**
 * The relevance ledger of one explanation: for every recorded layer on the input's path, in
 * execution order, how much relevance arrived at its output, how much it passed on to its inputs,
 * and where the difference went (the bias, the stabilizer, inputs that are not activations) or
 * came from. It answers "why does the relevance not sum to the output?".
 *
 * The bias share is measured with the rules' own parameter relevance (ARCHITECTURE.md, "Parameter
 * relevance"): for rules whose reducer weights by the term input (Epsilon, ZPlus, AlphaBeta, Gamma,
 * ZBox, Norm), applying the reducer to the modified bias gives sum_k c_k <b_k, s_k>, exactly the
 * part of the normalised relevance the bias term takes. Layers are affine in (input, bias), so
 * passed + bias = sum_k c_k <y_k, s_k>, and what is left of the arriving relevance is the
 * stabilizer's share. WSquare's reducer is the bare gradient, so its bias share is
 * <b^2, d/d(b^2)>; Flat zeroes the bias. A rule the ledger does not know reports `bias: null` and
 * the whole difference under `rest`.
 */
import type { LayerRecord, Tensor } from '../engine/index.js';
import type { Composite } from '../composites/index.js';
import type { Rule } from '../rules/index.js';
import type { RecordedForward, Seed } from '../attribution/index.js';
import { total, totalPerSample, traceExplanation, type Trace } from './trace.js';

/** Rules whose reducer is sum_k c_k x_k * v_k: their parameter relevance of the bias is its share. */
const INPUT_WEIGHTED = new Set(['Epsilon', 'ZPlus', 'AlphaBeta', 'Gamma', 'ZBox', 'Norm']);
/** Rules whose non-conservation (besides the bias) is their stabilizer. */
const STABILIZED = new Set([...INPUT_WEIGHTED, 'Flat', 'WSquare']);

export type LedgerStatus = 'conserved' | 'absorbed' | 'created' | 'unreached';
/** What the rest of the difference is: the stabilizer of an LRP rule, a plain gradient's non-conservation, or an unknown rule's. */
export type RestKind = 'stabilizer' | 'gradient' | 'rule';
export type LedgerCause = 'bias' | 'detached' | RestKind;

export interface LedgerInput {
  /** Key of the layer that produced this input, 'input' for the model input, null for a parameter or constant. */
  from: string | null;
  shape: number[];
  /** Relevance the layer handed to this input (0 when it handed none). */
  relevance: number;
  /** The input is computed from the model input (its relevance travels on). */
  activation: boolean;
}

export interface LedgerRow {
  /** Position in `recording.layers`. */
  index: number;
  /** Unique key: the dotted name, or `name@k` for the k-th call of a module that ran several times. */
  key: string;
  name: string;
  type: string;
  kind: string;
  /** Rule name, or 'gradient' for the plain VJP. */
  rule: string;
  outputShape: number[];
  /** Sum of the relevance arriving at the layer's output. */
  arriving: number;
  /** Sum of the relevance the layer passes to its activation inputs. */
  passed: number;
  /** arriving - passed (negative: created). */
  absorbed: number;
  /** Part of `absorbed` the bias term takes (0 without a bias; null: not measurable for this rule). */
  bias: number | null;
  /** Relevance handed to inputs that are not computed from the model input (parameters, constants): it stops here. */
  detached: number;
  /** absorbed - bias - detached: the stabilizer (LRP rules), the gradient's non-conservation (plain VJP), or an unknown rule's. */
  rest: number;
  restKind: RestKind;
  /** passed / arriving (null when nothing arrived). */
  ratio: number | null;
  status: LedgerStatus;
  /** The largest part of the difference, in its direction (null when conserved). */
  cause: LedgerCause | null;
  inputs: LedgerInput[];
}

export interface LedgerEntry {
  key: string;
  /** Relevance absorbed (> 0) or created (< 0 in `absorbed`; reported positive here). */
  amount: number;
  cause: LedgerCause | null;
  /** Share of the seed total. */
  share: number;
}

export interface RelevanceLedger {
  composite: string | null;
  dtype: string;
  batch: number;
  /** Relative tolerance below which a layer counts as conserving. */
  tolerance: number;
  rows: LedgerRow[];
  totals: {
    /** Sum of the seed (the relevance at the output). */
    seed: number;
    /** Sum of the relevance at the model input. */
    input: number;
    /** seed - input. */
    difference: number;
    /** Sum of the rows' `absorbed` (equals `difference` when every op is a recorded layer). */
    absorbed: number;
    /** Sums of the rows' components (bias: over rows where it is measured). */
    bias: number;
    detached: number;
    stabilizer: number;
    gradient: number;
    rule: number;
    /** difference - absorbed: relevance lost outside any recorded layer (should be ~0). */
    unaccounted: number;
    seedPerSample: number[];
    inputPerSample: number[];
  };
  /** Layers where relevance is lost, largest first. */
  lost: LedgerEntry[];
  /** Layers where relevance is created, largest first. */
  created: LedgerEntry[];
  /** Layers on the input's path that the backward never reached (their output does not reach the model output). */
  unreached: string[];
  /** Recorded layers not on the input's path (e.g. a canonizer's merged-parameter arithmetic). */
  hiddenLayers: number;
}

export interface LedgerOptions {
  /** A layer conserves when |absorbed| <= tolerance * max(|arriving|, |passed|) (default 1e-6). */
  tolerance?: number;
}

function biasShare(rule: Rule | null, layer: LayerRecord, pr: Map<string, Tensor> | undefined): number | null {
  const b = layer.params.bias;
  if (!b) return 0;
  if (!rule) return null;
  if (rule.name === 'Pass' || rule.name === 'Flat') return 0;
  const rel = pr?.get(layer.name ? `${layer.name}.bias` : 'bias');
  if (!rel) return null;
  if (INPUT_WEIGHTED.has(rule.name)) return total(rel);
  if (rule.name === 'WSquare') {
    const zp = rule.settings.zeroParams;
    if (Array.isArray(zp) && zp.includes('bias')) return 0;
    let s = 0;
    for (let i = 0; i < b.size; i++) s += b.data[i]! * b.data[i]! * rel.data[i]!;
    return s;
  }
  return null;
}

function shapeOf(t: Tensor): number[] {
  return [...t.shape];
}

/** Builds the ledger from a traced pass (see `relevanceLedger`). */
export function ledgerFromTrace(trace: Trace, composite: Composite | null, opts: LedgerOptions = {}): RelevanceLedger {
  const tol = opts.tolerance ?? 1e-6;
  const { recorded, dependsOnInput: dep, keys } = trace;
  const seedTotal = total(trace.seed);
  const inputTotal = total(trace.relevance);
  const rows: LedgerRow[] = [];
  const unreached: string[] = [];
  let hidden = 0;
  for (const layer of recorded.recording.layers) {
    if (!dep.has(layer.output)) {
      hidden++;
      continue;
    }
    const key = keys.get(layer)!;
    const tr = trace.layers.get(layer);
    const rule = tr ? tr.rule : trace.assignment.get(layer) ?? null;
    const restKind: RestKind = !rule ? 'gradient' : STABILIZED.has(rule.name) ? 'stabilizer' : 'rule';
    const inputs: LedgerInput[] = layer.inputs.map((t, i) => {
      const producer = t.layer && t.layer.output === t ? keys.get(t.layer) ?? null : null;
      const g = tr?.relevanceIn[i] ?? null;
      return {
        from: t === recorded.input ? 'input' : producer,
        shape: shapeOf(t),
        relevance: g ? total(g) : 0,
        activation: dep.has(t),
      };
    });
    const base = { index: layer.index, key, name: layer.name, type: layer.type, kind: layer.kind, rule: rule ? rule.name : 'gradient', outputShape: shapeOf(layer.output), restKind, inputs };
    if (!tr) {
      unreached.push(key);
      rows.push({ ...base, arriving: 0, passed: 0, absorbed: 0, bias: 0, detached: 0, rest: 0, ratio: null, status: 'unreached', cause: null });
      continue;
    }
    const arriving = total(tr.relevanceOut);
    const passed = inputs.reduce((a, x) => a + (x.activation ? x.relevance : 0), 0);
    const detached = inputs.reduce((a, x) => a + (x.activation ? 0 : x.relevance), 0);
    const absorbed = arriving - passed;
    const bias = biasShare(tr.rule, layer, tr.paramRelevance);
    const rest = absorbed - (bias ?? 0) - detached;
    const conserved = Math.abs(absorbed) <= tol * Math.max(Math.abs(arriving), Math.abs(passed)) + Number.MIN_VALUE;
    const status: LedgerStatus = conserved ? 'conserved' : absorbed > 0 ? 'absorbed' : 'created';
    let cause: LedgerCause | null = null;
    if (!conserved) {
      const parts: [LedgerCause, number][] = [['bias', bias ?? 0], ['detached', detached], [restKind, rest]];
      const dir = Math.sign(absorbed);
      cause = parts.reduce((best, p) => (p[1] * dir > best[1] * dir ? p : best), parts[0]!)[0];
    }
    rows.push({ ...base, arriving, passed, absorbed, bias, detached, rest, ratio: arriving === 0 ? null : passed / arriving, status, cause });
  }
  const sum = (f: (r: LedgerRow) => number): number => rows.reduce((a, r) => a + f(r), 0);
  const absorbedTotal = sum((r) => r.absorbed);
  const scale = Math.abs(seedTotal) || 1;
  const entry = (r: LedgerRow): LedgerEntry => ({ key: r.key, amount: Math.abs(r.absorbed), cause: r.cause, share: Math.abs(r.absorbed) / scale });
  return {
    composite: composite ? composite.name : null,
    dtype: recorded.output.dtype,
    batch: recorded.output.ndim ? recorded.output.shape[0]! : 1,
    tolerance: tol,
    rows,
    totals: {
      seed: seedTotal,
      input: inputTotal,
      difference: seedTotal - inputTotal,
      absorbed: absorbedTotal,
      bias: sum((r) => r.bias ?? 0),
      detached: sum((r) => r.detached),
      stabilizer: sum((r) => (r.restKind === 'stabilizer' ? r.rest : 0)),
      gradient: sum((r) => (r.restKind === 'gradient' ? r.rest : 0)),
      rule: sum((r) => (r.restKind === 'rule' ? r.rest : 0)),
      unaccounted: seedTotal - inputTotal - absorbedTotal,
      seedPerSample: totalPerSample(trace.seed),
      inputPerSample: totalPerSample(trace.relevance),
    },
    lost: rows.filter((r) => r.status === 'absorbed').sort((a, b) => b.absorbed - a.absorbed).map(entry),
    created: rows.filter((r) => r.status === 'created').sort((a, b) => a.absorbed - b.absorbed).map(entry),
    unreached,
    hiddenLayers: hidden,
  };
}

/**
 * The relevance ledger of `recorded` explained from `seed` with `composite` (null: the plain
 * gradient). One backward pass, the same numbers as `recorded.attribute(seed, {composite})`.
 */
export function relevanceLedger(recorded: RecordedForward, seed: Seed, composite: Composite | null, opts: LedgerOptions = {}): RelevanceLedger {
  return ledgerFromTrace(traceExplanation(recorded, seed, composite), composite, opts);
}
