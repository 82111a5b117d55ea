/**
 * Convolutions on all threads: the tiles tiles.ts plans, their input boxes staged into shared
 * memory (cached weights read from the resident arena instead), the workers' output boxes copied
 * back.
 */
import type { FloatArray, ConvGeometry } from '../types.js';
import { wasmKernelsActive } from '../wasm/index.js';
import { D_ARGS, GEOMETRY_KEYS, OP_CONV } from './protocol.js';
import { BACKWARD_WEIGHT, convTile, planConv, tileInputRegions, tileOutputBoxes, copyBox, boxSize, dimsOf, type ConvFn, type ConvKind } from './tiles.js';
import { usablePool, limits, stats, Layout, prefault } from './state.js';

// ---------------------------------------------------------------------------------------------
// Convolution

const convNames = ['conv2d forward', 'conv2d input gradient', 'conv2d weight gradient'];

/**
 * The convolution `kind` on all threads, in chunks tiles.ts plans; false when it is not worth it
 * or cannot be cut exactly. `serial` is the single-threaded kernel of that kind; `constantB`: b
 * is never written again (a weight the parameter cache holds).
 */
export function convParallel(kind: ConvKind, serial: ConvFn, a: FloatArray, b: FloatArray, out: FloatArray, g: ConvGeometry, constantB = false): boolean {
  const wasm = wasmKernelsActive();
  const work = g.N * g.O * (g.C / g.groups) * g.KH * g.KW * g.OH * g.OW;
  if (work < (wasm ? limits.convWasm : limits.convTs)) return false;
  const p = usablePool(wasm);
  if (p === null) return false;
  const T = p.size + 1;
  const plan = planConv(kind, g, T);
  if (plan === null) return false;
  const f64 = !(out instanceof Float32Array);
  const dims = [dimsOf(kind, g, 0), dimsOf(kind, g, 1), dimsOf(kind, g, 2)] as const;
  const sizes = dims.map((d) => d[0] * d[1] * d[2] * d[3]);
  // The weight of a forward or input-gradient convolution that is never written again lives in the
  // resident arena: copied once, not staged on every call.
  const residentB = kind !== BACKWARD_WEIGHT && constantB && b.length === sizes[1] ? p.resident.offset(b, limits.residentBytes) : -1;
  // The data buffer mirrors the three arrays' layouts: the chunks' boxes of the inputs are copied
  // in, the workers' boxes of the output copied back.
  const L = new Layout(f64 ? 8 : 4);
  const offs = sizes.map((n, arr) => L.alloc(arr === 1 && residentB >= 0 ? 0 : n));
  if (!p.reserve(L.bytes)) return false;
  const mem = f64 ? p.f64 : p.f32;

  p.busy = true;
  try {
    prefault(out, 0, 1, sizes[2]!, sizes[2]!);
    const arrays = [a, b] as const;
    const copiedWhole = [false, residentB >= 0];
    // Each chunk's boxes of a and b into the mirror (runChunks: the workers' first chunks before
    // they wake, the rest after); an array copied whole once is not copied again.
    const stage = (c: number): void => {
      for (const r of tileInputRegions(kind, g, plan.split, plan.bounds[c]!, plan.bounds[c + 1]!)) {
        if (copiedWhole[r.arr]) continue;
        copyBox(arrays[r.arr], 0, mem, offs[r.arr]!, dims[r.arr], r.box);
        if (boxSize(dims[r.arr], r.box) === sizes[r.arr]) copiedWhole[r.arr] = true;
      }
    };
    const owners = p.runChunks(
      plan.bounds,
      stage,
      (w) => p.post(w, OP_CONV, f64, wasm, (c) => {
        let i = D_ARGS;
        c[i++] = kind;
        c[i++] = plan.split;
        c[i++] = offs[0]!;
        c[i++] = offs[1]!;
        c[i++] = offs[2]!;
        c[i++] = residentB;
        c[i++] = p.resident.gen;
        for (const k of GEOMETRY_KEYS) c[i++] = g[k];
      }),
      (lo, hi) => convTile(kind, serial, a, b, out, g, plan.split, lo, hi),
      convNames[kind]!,
    );
    for (let c = 0; c < owners.length; c++) {
      if (owners[c] === 0) continue;
      for (const box of tileOutputBoxes(kind, g, plan.split, plan.bounds[c]!, plan.bounds[c + 1]!)) copyBox(mem, offs[2]!, out, 0, dims[2], box);
    }
    stats.conv++;
    if (residentB >= 0) stats.residentConv++;
  } finally {
    p.busy = false;
  }
  return true;
}
