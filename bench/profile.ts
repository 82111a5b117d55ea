/**
 * Where the time of one workload goes, by op and (for LRP workloads) by layer and rule. No engine
 * edits: every exported OpDef of the engine barrel gets its `forward` wrapped with a timer (self
 * time: nested ops are subtracted; bench/op-timers.ts), and the LRP workloads' `explain` reports each layer's backward
 * through `attribute`'s onLayer callback. GC pauses are collected with a PerformanceObserver.
 *
 *   node --import tsx bench/profile.ts [--only resnet18-lrp] [--top 10] [--kernels ts|wasm] [--json]
 *
 * For a function-level view use V8's sampler instead and summarise it:
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/run.ts --only resnet18-lrp --runs 1
 *   node --import tsx bench/cpuprofile-summary.ts /tmp/prof/*.cpuprofile
 */
import { PerformanceObserver, performance } from 'node:perf_hooks';

import { installOpTimers, type OpStat as Stat } from './op-timers.js';

function parse(argv: readonly string[]): { only: string; top: number; kernels?: string; json: boolean } {
  const o = { only: 'resnet18-lrp', top: 10, kernels: undefined as string | undefined, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--only') o.only = argv[++i] ?? o.only;
    else if (a === '--top') o.top = Number(argv[++i] ?? 10);
    else if (a === '--kernels') o.kernels = argv[++i];
    else if (a === '--json') o.json = true;
    else throw new Error(`profile: unknown option ${a}`);
  }
  return o;
}

const hr = (): bigint => process.hrtime.bigint();
const msSince = (t0: bigint): number => Number(hr() - t0) / 1e6;

async function main(): Promise<void> {
  const args = parse(process.argv.slice(2));
  if (args.kernels) process.env.LRP_TAPE_KERNELS = args.kernels;
  const { configureBackend } = await import('./backend.js');
  const { findWorkload } = await import('./workloads.js');
  const backend = await configureBackend({ kernels: args.kernels });
  const w = findWorkload(args.only);
  if (!w) throw new Error(`profile: unknown workload ${args.only}`);

  const timers = await installOpTimers();
  const { byOp, byShape, wrapped } = timers;

  // ---- GC pauses -------------------------------------------------------------------------------
  // Entries arrive asynchronously: keep them all and count those inside the profiled window.
  const gcEntries: { start: number; duration: number }[] = [];
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcEntries.push({ start: e.startTime, duration: e.duration });
  });
  obs.observe({ entryTypes: ['gc'] });

  // ---- run -------------------------------------------------------------------------------------
  process.stderr.write(`profile ${w.name}: setup ...\n`);
  const prepared = await w.setup({ runs: 1, frozen: false, quick: true, log: (l) => process.stderr.write(l + '\n') });
  process.stderr.write('warm-up run ...\n');
  let t0 = hr();
  prepared.run();
  process.stderr.write(`warm-up ${msSince(t0).toFixed(0)} ms; profiled run ...\n`);
  (globalThis as { gc?: () => void }).gc?.();

  const byLayer = new Map<string, Stat>();
  let phases: Record<string, number> = {};
  timers.reset();
  const windowStart = performance.now();
  t0 = hr();
  const profiled = (): void => {
    if (prepared.explain) {
      let last = 0n;
      const perLayer: { layer: import('../engine/index.js').LayerRecord; ms: number }[] = [];
      const res = prepared.explain((layer) => {
        const now = hr();
        perLayer.push({ layer, ms: last ? Number(now - last) / 1e6 : 0 });
        last = now;
      });
      const wallStartAttr = res.attributeMs;
      // The first callback's time is measured from the start of attribute instead.
      if (perLayer.length) perLayer[0]!.ms = Math.max(0, wallStartAttr - perLayer.slice(1).reduce((a, b) => a + b.ms, 0));
      for (const { layer, ms } of perLayer) {
        const rule = res.rules.get(layer)?.name ?? 'Gradient (plain VJP)';
        const key = `${layer.kind} [${layer.type}] -> ${rule}`;
        const s = byLayer.get(key) ?? { calls: 0, selfMs: 0 };
        s.calls++;
        s.selfMs += ms;
        byLayer.set(key, s);
      }
      phases = { forward_record_ms: res.forwardMs, attribute_ms: res.attributeMs, ...(res.extraMs !== undefined ? { grad_of_relevance_ms: res.extraMs } : {}) };
    } else {
      prepared.run();
    }
  };
  timers.measure(profiled);
  const wall = msSince(t0);
  const windowEnd = performance.now();
  await new Promise((r) => setTimeout(r, 100)); // let the GC observer flush
  obs.disconnect();
  const inWindow = gcEntries.filter((e) => e.start >= windowStart && e.start <= windowEnd);
  const gcMs = inWindow.reduce((a, e) => a + e.duration, 0);
  const gcCount = inWindow.length;

  const opTotal = [...byOp.values()].reduce((a, s) => a + s.selfMs, 0);
  const sorted = (m: Map<string, Stat>): [string, Stat][] => [...m].sort((a, b) => b[1].selfMs - a[1].selfMs);
  const report = {
    workload: w.name,
    kernels: backend.kernels,
    wall_ms: wall,
    phases,
    ops_self_ms: opTotal,
    outside_ops_ms: wall - opTotal,
    gc_ms: gcMs,
    gc_count: gcCount,
    ops_wrapped: wrapped,
    by_op: sorted(byOp).map(([k, s]) => ({ op: k, calls: s.calls, ms: s.selfMs, pct: (100 * s.selfMs) / wall })),
    by_op_shape: sorted(byShape).slice(0, args.top * 2).map(([k, s]) => ({ op: k, calls: s.calls, ms: s.selfMs, pct: (100 * s.selfMs) / wall })),
    by_layer: sorted(byLayer).map(([k, s]) => ({ layer: k, count: s.calls, ms: s.selfMs, pct: (100 * s.selfMs) / wall })),
  };
  if (args.json) {
    console.log(JSON.stringify(report));
    return;
  }
  const f = (x: number): string => x.toFixed(1).padStart(9);
  console.log(`\n${w.name} (kernels ${backend.kernels}): one run ${wall.toFixed(0)} ms`);
  for (const [k, v] of Object.entries(phases)) console.log(`  ${k.padEnd(22)} ${f(v)} ms`);
  console.log(`  inside op forwards     ${f(opTotal)} ms (${((100 * opTotal) / wall).toFixed(1)}%)`);
  console.log(`  outside ops            ${f(wall - opTotal)} ms (graph walk, rule bookkeeping, seeds, allocation outside kernels)`);
  console.log(`  GC pauses              ${f(gcMs)} ms in ${gcCount} collections (fall inside or outside ops)`);
  console.log(`\ntop ${args.top} ops by self time`);
  console.log(`${'op'.padEnd(24)} ${'calls'.padStart(6)} ${'ms'.padStart(9)} ${'% of run'.padStart(9)}`);
  for (const r of report.by_op.slice(0, args.top)) console.log(`${r.op.padEnd(24)} ${String(r.calls).padStart(6)} ${f(r.ms)} ${r.pct.toFixed(1).padStart(8)}%`);
  console.log(`\ntop ${args.top * 2} op + input shapes`);
  for (const r of report.by_op_shape) console.log(`${f(r.ms)} ms ${String(r.calls).padStart(5)}x  ${r.op}`);
  if (report.by_layer.length) {
    console.log('\nbackward by layer kind and rule (time between successive layer callbacks of attribute)');
    for (const r of report.by_layer) console.log(`${f(r.ms)} ms ${String(r.count).padStart(4)}x  ${r.layer}`);
  }
}

await main();
