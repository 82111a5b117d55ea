/**
 * Self time per op without editing the engine: every exported OpDef of the engine barrel gets its
 * `forward` wrapped with a timer (nested ops are subtracted, so each op's time is its own). The
 * timers cost ~30% while they run, so they only count inside `measure`; outside it the wrapper is
 * one branch. Shared by bench/profile.ts and the phase breakdown (bench/breakdown.ts).
 */

export interface OpStat {
  calls: number;
  selfMs: number;
}

export interface OpRow {
  op: string;
  calls: number;
  ms: number;
  /** Percent of the measured wall time. */
  pct: number;
}

export interface OpTimers {
  /** How many OpDefs were wrapped. */
  readonly wrapped: number;
  /** Runs `body` with the timers counting; returns its result and wall time. */
  measure<T>(body: () => T): { result: T; wallMs: number };
  /** Self time per op name, since the last `reset`. */
  readonly byOp: Map<string, OpStat>;
  /** Self time per op name and input shapes. */
  readonly byShape: Map<string, OpStat>;
  reset(): void;
}

const hr = (): bigint => process.hrtime.bigint();
const msSince = (t0: bigint): number => Number(hr() - t0) / 1e6;

const shapeOf = (t: unknown): string => {
  const s = (t as { shape?: readonly number[] }).shape;
  return s ? s.join('x') : '?';
};

let installed: OpTimers | undefined;

/** Wraps the engine's OpDefs once per process (a second call returns the same timers). */
export async function installOpTimers(): Promise<OpTimers> {
  if (installed) return installed;
  const E = await import('../engine/index.js');
  let enabled = false;
  const byOp = new Map<string, OpStat>();
  const byShape = new Map<string, OpStat>();
  const childMs: number[] = [];
  const add = (m: Map<string, OpStat>, key: string, ms: number): void => {
    const s = m.get(key) ?? { calls: 0, selfMs: 0 };
    s.calls++;
    s.selfMs += ms;
    m.set(key, s);
  };
  let wrapped = 0;
  for (const v of Object.values(E)) {
    if (!v || typeof v !== 'object') continue;
    const op = v as { name?: unknown; forward?: unknown; vjp?: unknown };
    if (typeof op.name !== 'string' || typeof op.forward !== 'function' || typeof op.vjp !== 'function') continue;
    const orig = op.forward as (inputs: readonly unknown[], attrs: unknown) => unknown;
    const name = op.name;
    op.forward = function (this: unknown, inputs: readonly unknown[], attrs: unknown): unknown {
      if (!enabled) return orig.call(this, inputs, attrs);
      childMs.push(0);
      const t0 = hr();
      try {
        return orig.call(this, inputs, attrs);
      } finally {
        const total = msSince(t0);
        const self = total - childMs.pop()!;
        if (childMs.length) childMs[childMs.length - 1]! += total;
        add(byOp, name, self);
        add(byShape, `${name} ${inputs.map(shapeOf).join(', ')}`, self);
      }
    };
    wrapped++;
  }
  installed = {
    wrapped,
    byOp,
    byShape,
    measure<T>(body: () => T): { result: T; wallMs: number } {
      enabled = true;
      const t0 = hr();
      try {
        const result = body();
        return { result, wallMs: msSince(t0) };
      } finally {
        enabled = false;
      }
    },
    reset(): void {
      byOp.clear();
      byShape.clear();
    },
  };
  return installed;
}

/** The `top` largest entries of `m` by self time, as percentages of `wallMs`. */
export function topOps(m: ReadonlyMap<string, OpStat>, wallMs: number, top = Infinity): OpRow[] {
  return [...m]
    .sort((a, b) => b[1].selfMs - a[1].selfMs)
    .slice(0, top)
    .map(([op, s]) => ({ op, calls: s.calls, ms: s.selfMs, pct: (100 * s.selfMs) / wallMs }));
}
