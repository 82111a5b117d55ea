/**
 * Where one explanation's time goes, by phase: the recorded forward, the LRP backward and (EGL) the
 * second backward, with the second backward's top ops by self time (issue 19, item 2: the evidence
 * for speeding up the double backward). Runs after a workload's timed runs, so the op timers
 * (bench/op-timers.ts) never touch the timed numbers.
 */
import type { Prepared } from './workloads.js';
import { installOpTimers, topOps, type OpRow } from './op-timers.js';

export interface Breakdown {
  /** One untimed-by-the-bench, uninstrumented run. */
  forward_record_ms: number;
  lrp_backward_ms: number;
  second_backward_ms: number;
  /** A second run with the op timers on during the second backward only (they add ~30% there). */
  profiled_second_backward_ms: number;
  /** Of that: time inside op forwards (kernels, allocation); the rest is the graph walk and VJP bookkeeping. */
  second_backward_ops_ms: number;
  second_backward_top_ops: OpRow[];
  second_backward_top_op_shapes: OpRow[];
}

const r1 = (x: number): number => Math.round(x * 10) / 10;
const rows = (xs: OpRow[]): OpRow[] => xs.map((r) => ({ op: r.op, calls: r.calls, ms: r1(r.ms), pct: r1(r.pct) }));

/** Null when the workload has no phases or no second backward. */
export async function phaseBreakdown(prepared: Prepared, top = 8): Promise<Breakdown | null> {
  if (!prepared.explain) return null;
  const noLayer = (): void => {};
  const plain = prepared.explain(noLayer);
  if (plain.extraMs === undefined) return null;
  const timers = await installOpTimers();
  timers.reset();
  let profiledMs = 0;
  prepared.explain(noLayer, (name, body) => {
    if (name !== 'second') return body();
    const { result, wallMs } = timers.measure(body);
    profiledMs = wallMs;
    return result;
  });
  const opsMs = [...timers.byOp.values()].reduce((a, s) => a + s.selfMs, 0);
  return {
    forward_record_ms: r1(plain.forwardMs),
    lrp_backward_ms: r1(plain.attributeMs),
    second_backward_ms: r1(plain.extraMs),
    profiled_second_backward_ms: r1(profiledMs),
    second_backward_ops_ms: r1(opsMs),
    second_backward_top_ops: rows(topOps(timers.byOp, profiledMs, top)),
    second_backward_top_op_shapes: rows(topOps(timers.byShape, profiledMs, top)),
  };
}

/** One line for the bench table's notes. */
export function breakdownNote(b: Breakdown, top = 5): string {
  const total = b.forward_record_ms + b.lrp_backward_ms + b.second_backward_ms;
  const pct = (x: number): string => `${((100 * x) / total).toFixed(0)}%`;
  const ops = b.second_backward_top_ops.slice(0, top).map((r) => `${r.op} ${r.pct.toFixed(0)}%`).join(', ');
  return (
    `one run: forward ${b.forward_record_ms.toFixed(0)} ms (${pct(b.forward_record_ms)}), ` +
    `LRP backward ${b.lrp_backward_ms.toFixed(0)} ms (${pct(b.lrp_backward_ms)}), ` +
    `2nd backward ${b.second_backward_ms.toFixed(0)} ms (${pct(b.second_backward_ms)}; top ops by self time: ${ops})`
  );
}
