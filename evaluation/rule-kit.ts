/**
 * A test kit for people who write LRP rules (on the `BasicRule` template or any `Rule`): it checks
 * the properties a correct rule must have on small dense layers and reports which fail, instead of
 * stopping at the first. docs/EVALUATION.md ("Rule test kit") has a worked custom rule.
 *
 * The checks, each on a Linear layer the rule is mapped to (layer type 'Dense'):
 *   conservation    bias-free layer, x >= 0, R_out > 0: sum R_in = sum R_out (relative 1e-4, so
 *                   a stabiliser of 1e-6 passes and a large one is reported);
 *   positivity      only when the rule promises it: R_in >= 0 for x >= 0 and R_out >= 0;
 *   matrix form     only when given: R_in equals the rule's explicit formula on a layer with bias
 *                   (float64, relative 1e-8), as zennit's tests compare with a matrix form;
 *   batch-norm      Linear followed by an evaluation-mode BatchNorm1d, explained through the
 *                   batch-norm canonizer, equals the same rule on the merged layer written by hand;
 *   finite          float32: all-zero inputs, and dead units (zero weight rows and bias) that still
 *                   receive relevance, give finite relevance;
 *   second order    the relevance, recorded with createGraph, differentiated w.r.t. input and
 *                   weight, matches central finite differences (float64, engine's gradcheck).
 */
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import { BatchNorm1d, Linear, Sequential, type Module } from '../nn/index.js';
import { MapComposite } from '../composites/index.js';
import { canonize, sequentialMergeBatchNorm } from '../canonizers/index.js';
import { recordForward } from '../attribution/index.js';
import type { Rule } from '../rules/index.js';

export type RuleCheckName = 'conservation' | 'positivity' | 'matrix form' | 'batch-norm canonizer' | 'finite in float32' | 'second order';

export interface RuleCheck {
  check: RuleCheckName;
  status: 'pass' | 'fail' | 'skipped';
  detail: string;
}

/** The explicit form of a rule for ONE sample of a dense layer y = W x + b (W row-major [out, in]). */
export type MatrixForm = (x: Float64Array, W: Float64Array, b: Float64Array, relevanceOut: Float64Array) => Float64Array;

export interface RuleKitOptions {
  /** The rule promises non-negative relevance for non-negative inputs and relevance (ZPlus, Flat, WSquare, AlphaBeta(1, 0)). */
  positive?: boolean;
  /** The rule's formula written out, to compare with. */
  matrixForm?: MatrixForm;
  /** Seed of the random layers and inputs. Default 0. */
  seed?: number;
}

const IN = 6;
const OUT = 4;
const BATCH = 3;

function explain(model: Module | { call(x: Tensor): Tensor }, x: Tensor, rout: Tensor, rule: Rule, createGraph = false): Tensor {
  const rec = recordForward(model, x);
  return rec.attribute(rout, { composite: new MapComposite({ layerMap: [['Dense', rule]] }), createGraph }).relevance;
}

const sum = (t: ArrayLike<number>) => Array.from(t).reduce((a, b) => a + b, 0);
const absT = (t: Tensor) => E.abs(t);

/** Runs one check, turning an exception into a failure that names it. */
function attempt(check: RuleCheckName, fn: () => Omit<RuleCheck, 'check'>): RuleCheck {
  try {
    return { check, ...fn() };
  } catch (e) {
    return { check, status: 'fail', detail: `threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}` };
  }
}

export function checkRule(rule: Rule, opts: RuleKitOptions = {}): RuleCheck[] {
  const rng = new E.Rng(opts.seed ?? 0);
  const f64 = 'float64' as const;
  const posInput = () => absT(E.randn([BATCH, IN], { dtype: f64, rng }));
  const posRel = () => E.rand([BATCH, OUT], { dtype: f64, rng, low: 0.1, high: 1 });
  const results: RuleCheck[] = [];

  results.push(attempt('conservation', () => {
    const layer = new Linear(IN, OUT, { bias: false, dtype: f64, rng });
    const x = posInput();
    const rout = posRel();
    const rin = explain(layer, x, rout, rule);
    const a = sum(rout.data);
    const b = sum(rin.data);
    const rel = Math.abs(b - a) / Math.abs(a);
    return { status: rel <= 1e-4 ? 'pass' : 'fail', detail: `sum R_in = ${b.toPrecision(8)}, sum R_out = ${a.toPrecision(8)} (relative difference ${rel.toExponential(2)}, allowed 1e-4)` };
  }));

  results.push(attempt('positivity', () => {
    if (!opts.positive) return { status: 'skipped', detail: 'the rule does not promise non-negative relevance (options.positive)' };
    const layer = new Linear(IN, OUT, { dtype: f64, rng });
    const rin = explain(layer, posInput(), posRel(), rule);
    const min = Math.min(...Array.from(rin.data));
    return { status: min >= 0 ? 'pass' : 'fail', detail: `smallest input relevance ${min.toPrecision(6)} for x >= 0 and R_out >= 0` };
  }));

  results.push(attempt('matrix form', () => {
    if (!opts.matrixForm) return { status: 'skipped', detail: 'no explicit matrix form given (options.matrixForm)' };
    const layer = new Linear(IN, OUT, { dtype: f64, rng });
    const x = E.randn([BATCH, IN], { dtype: f64, rng });
    const rout = E.randn([BATCH, OUT], { dtype: f64, rng });
    const rin = explain(layer, x, rout, rule);
    const W = Float64Array.from(layer.weight.data);
    const b = Float64Array.from(layer.bias!.data);
    let worst = 0;
    for (let n = 0; n < BATCH; n++) {
      const want = opts.matrixForm!(Float64Array.from(x.data.subarray(n * IN, (n + 1) * IN)), W, b, Float64Array.from(rout.data.subarray(n * OUT, (n + 1) * OUT)));
      if (want.length !== IN) throw new RangeError(`the matrix form returned ${want.length} values for ${IN} inputs`);
      for (let i = 0; i < IN; i++) {
        const got = rin.data[n * IN + i]!;
        worst = Math.max(worst, Math.abs(got - want[i]!) / Math.max(1e-12, Math.abs(want[i]!)));
      }
    }
    return { status: worst <= 1e-8 ? 'pass' : 'fail', detail: `largest relative difference ${worst.toExponential(2)} (allowed 1e-8)` };
  }));

  results.push(attempt('batch-norm canonizer', () => {
    const lin = new Linear(IN, OUT, { dtype: f64, rng });
    const bn = new BatchNorm1d(OUT, { dtype: f64 });
    const gamma = E.rand([OUT], { dtype: f64, rng, low: 0.5, high: 2 });
    const beta = E.randn([OUT], { dtype: f64, rng });
    const mean = E.randn([OUT], { dtype: f64, rng });
    const variance = E.rand([OUT], { dtype: f64, rng, low: 0.5, high: 2 });
    bn.loadStateDict({ weight: gamma, bias: beta, running_mean: mean, running_var: variance }, { strict: false });
    const model = new Sequential(lin, bn).eval();
    // The merged layer, written out: W' = s W, b' = s (b - mean) + beta with s = gamma / sqrt(var + eps).
    const merged = new Linear(IN, OUT, { dtype: f64, rng });
    const W = new Float64Array(OUT * IN);
    const B = new Float64Array(OUT);
    for (let o = 0; o < OUT; o++) {
      const s = gamma.data[o]! / Math.sqrt(variance.data[o]! + bn.eps);
      for (let i = 0; i < IN; i++) W[o * IN + i] = s * lin.weight.data[o * IN + i]!;
      B[o] = s * (lin.bias!.data[o]! - mean.data[o]!) + beta.data[o]!;
    }
    merged.loadStateDict({ weight: new E.Tensor(W, [OUT, IN]), bias: new E.Tensor(B, [OUT]) });
    const x = E.randn([BATCH, IN], { dtype: f64, rng });
    const rout = E.randn([BATCH, OUT], { dtype: f64, rng });
    const a = explain(canonize(model, [sequentialMergeBatchNorm()]), x, rout, rule);
    const b = explain(merged, x, rout, rule);
    let worst = 0;
    for (let i = 0; i < a.size; i++) worst = Math.max(worst, Math.abs(a.data[i]! - b.data[i]!) / Math.max(1e-9, Math.abs(b.data[i]!)));
    return { status: worst <= 1e-8 ? 'pass' : 'fail', detail: `largest relative difference to the hand-merged layer ${worst.toExponential(2)} (allowed 1e-8)` };
  }));

  results.push(attempt('finite in float32', () => {
    const f32 = 'float32' as const;
    const layer = new Linear(IN, OUT, { dtype: f32, rng });
    const rout = E.ones([BATCH, OUT], { dtype: f32 });
    const zero = explain(layer, E.zeros([BATCH, IN], { dtype: f32 }), rout, rule);
    // Dead units: two outputs with zero weights and bias are exactly 0 yet receive relevance.
    const W = Float32Array.from(layer.weight.data);
    const B = Float32Array.from(layer.bias!.data);
    W.fill(0, 0, 2 * IN);
    B.fill(0, 0, 2);
    layer.loadStateDict({ weight: new E.Tensor(W, [OUT, IN]), bias: new E.Tensor(B, [OUT]) });
    const dead = explain(layer, absT(E.randn([BATCH, IN], { dtype: f32, rng })), rout, rule);
    const bad = [...Array.from(zero.data).map((v) => ['zero input', v] as const), ...Array.from(dead.data).map((v) => ['dead units', v] as const)].filter(([, v]) => !Number.isFinite(v));
    return bad.length
      ? { status: 'fail', detail: `${bad.length} non-finite relevance values (${[...new Set(bad.map(([w]) => w))].join(', ')}; first ${bad[0]![1]})` }
      : { status: 'pass', detail: 'finite for all-zero inputs and for dead units' };
  }));

  results.push(attempt('second order', () => {
    const layer = new Linear(IN, OUT, { dtype: f64, rng });
    const x = E.randn([2, IN], { dtype: f64, rng }).requireGrad();
    const rout = E.randn([2, OUT], { dtype: f64, rng });
    const report = E.gradcheck((xx, _w) => explain(layer, xx, rout, rule, true), [x, layer.weight], { seed: opts.seed ?? 0 });
    const w = report.worst;
    return {
      status: report.ok ? 'pass' : 'fail',
      detail: report.ok
        ? `d(relevance)/d(input, weight) matches central differences (largest error ${report.maxAbsError.toExponential(2)})`
        : `d(relevance)/d(${w?.input === 0 ? 'input' : 'weight'}) element ${w?.element}: analytic ${w?.analytic} vs numeric ${w?.numeric}`,
    };
  }));
  return results;
}

/** The kit's report, one line per check. */
export function formatRuleChecks(name: string, checks: readonly RuleCheck[]): string {
  return [`rule ${name}:`, ...checks.map((c) => `  ${c.status.toUpperCase().padEnd(7)} ${c.check}: ${c.detail}`)].join('\n');
}
