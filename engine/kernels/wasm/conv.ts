/**
 * Convolutions in WebAssembly: one image at a time in linear memory, im2col + GEMM over the same
 * bands of output rows as the TypeScript kernels (../conv-bands.ts).
 */
import type { ConvGeometry, FloatArray } from '../types.js';
import { forEachBand, lowering, type Lowering } from '../conv-bands.js';
import { align, heapBase, reserve, viewFor, wasmExports, type KernelExports, type Ptr } from './index.js';


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

/** Linear memory for one image of a convolution: the three arrays, the column matrix, the GEMM's scratch. */
interface ConvMemory {
  /** Byte pointers of the first (whole), second and third (one image each) arrays. */
  p: [Ptr, Ptr, Ptr];
  pCol: Ptr;
  pWork: Ptr;
  /** Bytes per element. */
  S: number;
  mem: FloatArray;
  gemm: KernelExports['gemmF32'];
}

/**
 * Lays out `sizes` elements of each array from heapBase, then the column matrix of one band and the
 * scratch of the largest GEMM ([M, N, K], every GEMM of the convolution is no larger in any
 * dimension); null when linear memory cannot grow that far.
 */
function convMemory(like: FloatArray, L: Lowering, g: ConvGeometry, sizes: readonly number[], gemmDims: (bandPixels: number) => [number, number, number]): ConvMemory | null {
  const single = like instanceof Float32Array;
  const S = single ? 4 : 8;
  const bandPixels = L.pointwise ? L.P : L.rows * g.OW;
  const p0 = heapBase;
  const p1 = align(p0 + sizes[0]! * S);
  const p2 = align(p1 + sizes[1]! * S);
  const pCol = align(p2 + sizes[2]! * S);
  const pWork = align(pCol + (L.pointwise ? 0 : L.Kc * bandPixels * S));
  const [M, N, K] = gemmDims(bandPixels);
  const e = wasmExports();
  if (!reserve(pWork + (single ? e.gemmScratchBytesF32(M, N, K) : e.gemmScratchBytesF64(M, N, K)))) return null;
  return { p: [p0, p1, p2], pCol, pWork, S, mem: viewFor(like), gemm: single ? e.gemmF32 : e.gemmF64 };
}

/** y[N,O,OH,OW] = conv(x, w); false when linear memory cannot hold one image (nothing written). */
export function conv2dForwardWasm(x: FloatArray, w: FloatArray, y: FloatArray, g: ConvGeometry): boolean {
  const L = lowering(g);
  const { Cg, Og, Kc, P, HW } = L;
  const m = convMemory(y, L, g, [g.O * Kc, g.C * HW, g.O * P], (pb) => [Og, pb, Kc]);
  if (m === null) return false;
  const { mem, S, pCol, pWork } = m;
  const [pW, pX, pY] = m.p;
  const single = S === 4;
  mem.set(w.subarray(0, g.O * Kc), pW / S);
  for (let n = 0; n < g.N; n++) {
    mem.set(x.subarray(n * g.C * HW, (n + 1) * g.C * HW), pX / S);
    forEachBand(g, L, 0, (xOff, yOff, wOff, oh0, oh1) => {
      const xg = pX + xOff * S, yg = pY + yOff * S, wg = pW + wOff * S;
      if (L.pointwise) {
        m.gemm(0, 0, Og, P, Kc, wg, Kc, xg, P, yg, P, 0, pWork);
        return;
      }
      const nb = (oh1 - oh0) * g.OW;
      im2colCall(single, g, Cg, xg, oh0, oh1, pCol);
      m.gemm(0, 0, Og, nb, Kc, wg, Kc, pCol, nb, yg + oh0 * g.OW * S, P, 0, pWork);
    });
    y.set(mem.subarray(pY / S, pY / S + g.O * P), n * g.O * P);
  }
  return true;
}

/** gx[N,C,H,W] = the transposed convolution of gy with w; false when memory cannot hold one image. */
export function conv2dBackwardInputWasm(gy: FloatArray, w: FloatArray, gx: FloatArray, g: ConvGeometry): boolean {
  const L = lowering(g);
  const { Cg, Og, Kc, P, HW } = L;
  const m = convMemory(gx, L, g, [g.O * Kc, g.O * P, g.C * HW], (pb) => [Kc, pb, Og]);
  if (m === null) return false;
  const { mem, S, pCol, pWork } = m;
  const [pW, pGY, pGX] = m.p;
  const single = S === 4;
  mem.set(w.subarray(0, g.O * Kc), pW / S);
  for (let n = 0; n < g.N; n++) {
    mem.set(gy.subarray(n * g.O * P, (n + 1) * g.O * P), pGY / S);
    // The pointwise GEMM overwrites every channel block; col2im only adds into the taps it reaches.
    if (!L.pointwise) mem.fill(0, pGX / S, pGX / S + g.C * HW);
    forEachBand(g, L, 0, (xOff, yOff, wOff, oh0, oh1) => {
      const xg = pGX + xOff * S, yg = pGY + yOff * S, wg = pW + wOff * S;
      if (L.pointwise) {
        m.gemm(1, 0, Kc, P, Og, wg, Kc, yg, P, xg, P, 0, pWork);
        return;
      }
      const nb = (oh1 - oh0) * g.OW;
      m.gemm(1, 0, Kc, nb, Og, wg, Kc, yg + oh0 * g.OW * S, P, pCol, nb, 0, pWork);
      col2imCall(single, g, Cg, pCol, oh0, oh1, xg);
    });
    gx.set(mem.subarray(pGX / S, pGX / S + g.C * HW), n * g.C * HW);
  }
  return true;
}

/** gw[O,C/groups,KH,KW] = d<conv(x,w), gy>/dw; false when memory cannot hold one image. */
export function conv2dBackwardWeightWasm(x: FloatArray, gy: FloatArray, gw: FloatArray, g: ConvGeometry): boolean {
  const L = lowering(g);
  const { Cg, Og, Kc, P, HW } = L;
  const m = convMemory(gw, L, g, [g.O * Kc, g.C * HW, g.O * P], (pb) => [Og, Kc, pb]);
  if (m === null) return false;
  const { mem, S, pCol, pWork } = m;
  const [pGW, pX, pGY] = m.p;
  const single = S === 4;
  mem.fill(0, pGW / S, pGW / S + g.O * Kc);
  for (let n = 0; n < g.N; n++) {
    mem.set(x.subarray(n * g.C * HW, (n + 1) * g.C * HW), pX / S);
    mem.set(gy.subarray(n * g.O * P, (n + 1) * g.O * P), pGY / S);
    forEachBand(g, L, 0, (xOff, yOff, wOff, oh0, oh1) => {
      const xg = pX + xOff * S, yg = pGY + yOff * S, wg = pGW + wOff * S;
      if (L.pointwise) {
        m.gemm(0, 1, Og, Kc, P, yg, P, xg, P, wg, Kc, 1, pWork);
        return;
      }
      const nb = (oh1 - oh0) * g.OW;
      im2colCall(single, g, Cg, xg, oh0, oh1, pCol);
      m.gemm(0, 1, Og, Kc, nb, yg + oh0 * g.OW * S, P, pCol, nb, wg, Kc, 1, pWork);
    });
  }
  gw.set(mem.subarray(pGW / S, pGW / S + g.O * Kc));
  return true;
}
