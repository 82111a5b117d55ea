/**
 * Run in a fresh process by spec/engine/kernels/wasm-relaxed.spec.ts (with and without
 * --experimental-wasm-relaxed-simd): which WebAssembly module loaded, and how far its GEMM and
 * convolutions are from the float64 oracle, on one thread and split over two. Prints one JSON line.
 */
import { gemm, conv2dForward, conv2dBackwardInput, conv2dBackwardWeight, getKernelBackend, type FloatArray } from '../../engine/kernels/dispatch.js';
import { kernelStatus } from '../../engine/kernels/status.js';
import { setKernelThreads, setKernelThreadLimits, startKernelWorkers, kernelThreadStats } from '../../engine/kernels/parallel/state.js';
import { gemmReference, conv2dForwardReference, conv2dBackwardInputReference, conv2dBackwardWeightReference } from './kernel-reference.js';
import { convGeometry, dtypes, mulberry32, randomArray, relErr } from './kernel-oracle.js';

const status = kernelStatus();
const rnd = mulberry32(19);
/** The worst error over the cases divided by the dtype's tolerance: at most 1 passes. */
const worst: Record<string, number> = {};
const note = (what: string, err: number, tol: number): void => {
  worst[what] = Math.max(worst[what] ?? 0, err / tol);
};

// Edges of the 4x8 / 4x4 micro-tiles and of KC = 512, both transposes, accumulate.
const shapes: [number, number, number][] = [[1, 1, 1], [5, 9, 3], [37, 45, 53], [64, 64, 600], [130, 67, 1030]];
const products: { T: string; args: Parameters<typeof gemm>; want: FloatArray }[] = [];
for (const [name, T, tol] of dtypes) {
  for (const [M, N, K] of shapes) {
    for (const tA of [false, true]) {
      for (const tB of [false, true]) {
        const A = randomArray(T, M * K, rnd);
        const B = randomArray(T, K * N, rnd);
        const C0 = randomArray(T, M * N, rnd);
        for (const acc of [false, true]) {
          const got = C0.slice();
          const want = C0.slice();
          gemm(tA, tB, M, N, K, A, 0, B, 0, got, 0, acc);
          gemmReference(tA, tB, M, N, K, A, 0, B, 0, want, 0, acc);
          note(`gemm ${name}`, relErr(got, want), tol);
          products.push({ T: name, args: [tA, tB, M, N, K, A, 0, B, 0, C0.slice(), 0, acc], want: got });
        }
      }
    }
  }
  const g = convGeometry(2, 16, 14, 14, 24, 3, 3, [1, 1], [1, 1], [1, 1], 1);
  const x = randomArray(T, g.N * g.C * g.H * g.W, rnd);
  const w = randomArray(T, g.O * g.C * g.KH * g.KW, rnd);
  const gy = randomArray(T, g.N * g.O * g.OH * g.OW, rnd);
  const y = new T(gy.length), yRef = new T(gy.length);
  conv2dForward(x, w, y, g);
  conv2dForwardReference(x, w, yRef, g);
  note(`conv ${name}`, relErr(y, yRef), tol);
  const gx = new T(x.length), gxRef = new T(x.length);
  conv2dBackwardInput(gy, w, gx, g);
  conv2dBackwardInputReference(gy, w, gxRef, g);
  note(`conv ${name}`, relErr(gx, gxRef), tol);
  const gw = new T(w.length), gwRef = new T(w.length);
  conv2dBackwardWeight(x, gy, gw, g);
  conv2dBackwardWeightReference(x, gy, gwRef, g);
  note(`conv ${name}`, relErr(gw, gwRef), tol);
}

// The same products split over two threads: the workers must run the same module, bit for bit.
setKernelThreadLimits({ gemmWasm: 1, gemmTs: 1, gemmIntensity: 0 });
setKernelThreads(2);
const workers = startKernelWorkers();
let threadedSame = true;
for (const p of products) {
  const c = p.args[9];
  gemm(...p.args);
  for (let i = 0; i < c.length; i++) if (!Object.is(c[i], p.want[i])) threadedSame = false;
}

console.log(JSON.stringify({
  backend: getKernelBackend(),
  wasmVariant: status.wasmVariant,
  wasmRelaxedNote: status.wasmRelaxedNote,
  worst,
  workers,
  split: kernelThreadStats().gemm,
  threadedSame,
}));
process.exit(0);
