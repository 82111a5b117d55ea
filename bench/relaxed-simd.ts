/**
 * Relaxed SIMD (fused multiply-add) against plain SIMD, interleaved in one process so that the
 * load of a shared machine falls on both alike: each round times GEMM 1024 (float32, the raw
 * kernel through the dispatcher, preallocated output) and the ResNet-18 forward (noGrad) once with
 * each WebAssembly module (after one untimed call), alternating which goes first. One kernel thread (switching modules
 * in-process would leave kernel workers on the other one; `npm run bench` with and without
 * LRP_TAPE_WASM_RELAXED=0 measures the threaded case).
 *
 *   node --experimental-wasm-relaxed-simd --import tsx bench/relaxed-simd.ts [--rounds 15]
 */
import * as E from '../engine/index.js';
import { resnet18 } from '../models/index.js';
import { kernelStatus } from '../engine/kernels/status.js';
import { gemm } from '../engine/kernels/dispatch.js';

const i = process.argv.indexOf('--rounds');
const rounds = i < 0 ? 15 : Number(process.argv[i + 1]);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds takes a whole number, got '${process.argv[i + 1]}'`);

E.setKernelThreads(1);
if (E.setWasmRelaxedSimd(true) !== 'relaxed-simd') {
  console.error(`relaxed SIMD is not available here (${kernelStatus().wasmRelaxedNote ?? kernelStatus().wasmFailure}); run with node --experimental-wasm-relaxed-simd`);
  process.exit(2);
}

const n = 1024;
const rng = new E.Rng(n);
const A = E.randn([n, n], { dtype: 'float32', rng }).data as Float32Array;
const B = E.randn([n, n], { dtype: 'float32', rng }).data as Float32Array;
const C = new Float32Array(n * n);
const model = resnet18({ rng: new E.Rng(18) });
model.eval();
const x = E.randn([1, 3, 224, 224], { dtype: 'float32', rng: new E.Rng(224) });

const cases = {
  'gemm-1024': () => gemm(false, false, n, n, n, A, 0, B, 0, C, 0, false),
  'resnet18-forward': () => void E.noGrad(() => model.call(x)),
};
const variants = ['relaxed-simd', 'simd'] as const;
const times: Record<string, number[]> = {};

/**
 * Switching loads the other module afresh (new instance, new linear memory, V8's baseline tier
 * first), so one untimed call after the switch pays the tier-up and the page faults.
 */
function timeOnce(variant: (typeof variants)[number], name: keyof typeof cases): number {
  if (E.setWasmRelaxedSimd(variant === 'relaxed-simd') !== variant) throw new Error(`could not switch to ${variant}`);
  cases[name]();
  const t0 = performance.now();
  cases[name]();
  return performance.now() - t0;
}

// Warm-up: both modules tier up (Liftoff, then TurboFan) before anything is timed.
for (let w = 0; w < 2; w++) for (const v of variants) for (const name of Object.keys(cases) as (keyof typeof cases)[]) timeOnce(v, name);
for (let r = 0; r < rounds; r++) {
  const order = r % 2 === 0 ? variants : [...variants].reverse();
  for (const name of Object.keys(cases) as (keyof typeof cases)[]) {
    for (const v of order) (times[`${name} ${v}`] ??= []).push(timeOnce(v, name));
  }
}

const median = (a: number[]): number => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)]!;
const flops: Record<string, number> = { 'gemm-1024': 2 * n ** 3 };
console.log(`${rounds} interleaved rounds, 1 thread, load average ${(await import('node:os')).loadavg().map((l) => l.toFixed(2)).join(' ')}`);
for (const [key, t] of Object.entries(times)) {
  const name = key.split(' ')[0]!;
  const m = median(t);
  const g = flops[name] ? `, ${(flops[name]! / m / 1e6).toFixed(1)} GFLOP/s` : '';
  console.log(`${key.padEnd(30)} median ${m.toFixed(1)} ms${g}, min ${Math.min(...t).toFixed(1)}, max ${Math.max(...t).toFixed(1)}`);
}
