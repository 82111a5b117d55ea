/**
 * Convolutions in WebAssembly: one image at a time in linear memory, im2col + GEMM over the same
 * bands of output rows as the TypeScript kernels (../conv-bands.ts).
 */
import type { ConvGeometry, FloatArray } from '../types.js';
import { bandRows, isPointwise } from '../conv-bands.js';
import { align, heapBase, reserve, viewFor, wasmExports, type Ptr } from './index.js';


interface ConvLayout {
  Cg: number;
  Og: number;
  Kc: number;
  P: number;
  HW: number;
  rows: number;
  pointwise: boolean;
  S: number;
}

function convLayout(g: ConvGeometry, single: boolean): ConvLayout {
  const Cg = g.C / g.groups;
  const Og = g.O / g.groups;
  const Kc = Cg * g.KH * g.KW;
  const pointwise = isPointwise(g);
  return {
    Cg, Og, Kc,
    P: g.OH * g.OW,
    HW: g.H * g.W,
    rows: bandRows(g, Kc),
    pointwise,
    S: single ? 4 : 8,
  };
}

function im2colCall(single: boolean, g: ConvGeometry, Cg: number, src: Ptr, oh0: number, oh1: number, dst: Ptr): void {
  (single ? wasmExports().im2colF32 : wasmExports().im2colF64)(
    src, Cg, g.H, g.W, g.KH, g.KW, g.OW, g.strideH, g.strideW, g.padH, g.padW, g.dilH, g.dilW, oh0, oh1, dst,
  );
}

function col2imCall(single: boolean, g: ConvGeometry, Cg: number, src: Ptr, oh0: number, oh1: number, dst: Ptr): void {
  (single ? wasmExports().col2imF32 : wasmExports().col2imF64)(
    src, Cg, g.H, g.W, g.KH, g.KW, g.OW, g.strideH, g.strideW, g.padH, g.padW, g.dilH, g.dilW, oh0, oh1, dst,
  );
}

/** Scratch bytes for the largest GEMM a convolution issues (all its GEMMs are no larger in any dimension). */
function convScratch(single: boolean, M: number, N: number, K: number): number {
  return single ? wasmExports().gemmScratchBytesF32(M, N, K) : wasmExports().gemmScratchBytesF64(M, N, K);
}

/** y[N,O,OH,OW] = conv(x, w); false when linear memory cannot hold one image (nothing written). */
export function conv2dForwardWasm(x: FloatArray, w: FloatArray, y: FloatArray, g: ConvGeometry): boolean {
  const single = y instanceof Float32Array;
  const L = convLayout(g, single);
  const { Cg, Og, Kc, P, HW, rows, S } = L;
  const pb = rows * g.OW;
  const pW = heapBase;
  const pX = align(pW + g.O * Kc * S);
  const pY = align(pX + g.C * HW * S);
  const pCol = align(pY + g.O * P * S);
  const pWork = align(pCol + (L.pointwise ? 0 : Kc * pb * S));
  if (!reserve(pWork + convScratch(single, Og, L.pointwise ? P : pb, Kc))) return false;
  const mem = viewFor(y);
  const gemmFn = single ? wasmExports().gemmF32 : wasmExports().gemmF64;
  mem.set(w.subarray(0, g.O * Kc), pW / S);
  for (let n = 0; n < g.N; n++) {
    mem.set(x.subarray(n * g.C * HW, (n + 1) * g.C * HW), pX / S);
    for (let gr = 0; gr < g.groups; gr++) {
      const xg = pX + gr * Cg * HW * S;
      const yg = pY + gr * Og * P * S;
      const wg = pW + gr * Og * Kc * S;
      if (L.pointwise) {
        gemmFn(0, 0, Og, P, Kc, wg, Kc, xg, P, yg, P, 0, pWork);
        continue;
      }
      for (let oh0 = 0; oh0 < g.OH; oh0 += rows) {
        const oh1 = Math.min(g.OH, oh0 + rows);
        const nb = (oh1 - oh0) * g.OW;
        im2colCall(single, g, Cg, xg, oh0, oh1, pCol);
        gemmFn(0, 0, Og, nb, Kc, wg, Kc, pCol, nb, yg + oh0 * g.OW * S, P, 0, pWork);
      }
    }
    y.set(mem.subarray(pY / S, pY / S + g.O * P), n * g.O * P);
  }
  return true;
}

/** gx[N,C,H,W] = the transposed convolution of gy with w; false when memory cannot hold one image. */
export function conv2dBackwardInputWasm(gy: FloatArray, w: FloatArray, gx: FloatArray, g: ConvGeometry): boolean {
  const single = gx instanceof Float32Array;
  const L = convLayout(g, single);
  const { Cg, Og, Kc, P, HW, rows, S } = L;
  const pb = rows * g.OW;
  const pW = heapBase;
  const pGY = align(pW + g.O * Kc * S);
  const pGX = align(pGY + g.O * P * S);
  const pCol = align(pGX + g.C * HW * S);
  const pWork = align(pCol + (L.pointwise ? 0 : Kc * pb * S));
  if (!reserve(pWork + convScratch(single, Kc, L.pointwise ? P : pb, Og))) return false;
  const mem = viewFor(gx);
  const gemmFn = single ? wasmExports().gemmF32 : wasmExports().gemmF64;
  mem.set(w.subarray(0, g.O * Kc), pW / S);
  for (let n = 0; n < g.N; n++) {
    mem.set(gy.subarray(n * g.O * P, (n + 1) * g.O * P), pGY / S);
    // The pointwise GEMM overwrites every channel block; col2im only adds into the taps it reaches.
    if (!L.pointwise) mem.fill(0, pGX / S, pGX / S + g.C * HW);
    for (let gr = 0; gr < g.groups; gr++) {
      const xg = pGX + gr * Cg * HW * S;
      const yg = pGY + gr * Og * P * S;
      const wg = pW + gr * Og * Kc * S;
      if (L.pointwise) {
        gemmFn(1, 0, Kc, P, Og, wg, Kc, yg, P, xg, P, 0, pWork);
        continue;
      }
      for (let oh0 = 0; oh0 < g.OH; oh0 += rows) {
        const oh1 = Math.min(g.OH, oh0 + rows);
        const nb = (oh1 - oh0) * g.OW;
        gemmFn(1, 0, Kc, nb, Og, wg, Kc, yg + oh0 * g.OW * S, P, pCol, nb, 0, pWork);
        col2imCall(single, g, Cg, pCol, oh0, oh1, xg);
      }
    }
    gx.set(mem.subarray(pGX / S, pGX / S + g.C * HW), n * g.C * HW);
  }
  return true;
}

/** gw[O,C/groups,KH,KW] = d<conv(x,w), gy>/dw; false when memory cannot hold one image. */
export function conv2dBackwardWeightWasm(x: FloatArray, gy: FloatArray, gw: FloatArray, g: ConvGeometry): boolean {
  const single = gw instanceof Float32Array;
  const L = convLayout(g, single);
  const { Cg, Og, Kc, P, HW, rows, S } = L;
  const pb = rows * g.OW;
  const pGW = heapBase;
  const pX = align(pGW + g.O * Kc * S);
  const pGY = align(pX + g.C * HW * S);
  const pCol = align(pGY + g.O * P * S);
  const pWork = align(pCol + (L.pointwise ? 0 : Kc * pb * S));
  if (!reserve(pWork + convScratch(single, Og, Kc, L.pointwise ? P : pb))) return false;
  const mem = viewFor(gw);
  const gemmFn = single ? wasmExports().gemmF32 : wasmExports().gemmF64;
  mem.fill(0, pGW / S, pGW / S + g.O * Kc);
  for (let n = 0; n < g.N; n++) {
    mem.set(x.subarray(n * g.C * HW, (n + 1) * g.C * HW), pX / S);
    mem.set(gy.subarray(n * g.O * P, (n + 1) * g.O * P), pGY / S);
    for (let gr = 0; gr < g.groups; gr++) {
      const xg = pX + gr * Cg * HW * S;
      const yg = pGY + gr * Og * P * S;
      const wg = pGW + gr * Og * Kc * S;
      if (L.pointwise) {
        gemmFn(0, 1, Og, Kc, P, yg, P, xg, P, wg, Kc, 1, pWork);
        continue;
      }
      for (let oh0 = 0; oh0 < g.OH; oh0 += rows) {
        const oh1 = Math.min(g.OH, oh0 + rows);
        const nb = (oh1 - oh0) * g.OW;
        im2colCall(single, g, Cg, xg, oh0, oh1, pCol);
        gemmFn(0, 1, Og, Kc, nb, yg + oh0 * g.OW * S, P, pCol, nb, wg, Kc, 1, pWork);
      }
    }
  }
  gw.set(mem.subarray(pGW / S, pGW / S + g.O * Kc));
  return true;
}

