/**
 * Pooling loops: max pooling's winners (the op gathers them) and average pooling over explicit
 * windows, with its adjoint.
 */
import type { AvgPoolWindows, MaxPoolGeometry, Storage } from '../types.js';

/**
 * PyTorch's winner per window: the first element greater than everything before it (row-major
 * window order), or the last NaN. Only the taps inside the input are visited (no bounds tests in
 * the loop). A branch-free WebAssembly version (select for the running max and index) measured no
 * faster on ResNet-18's stem (10 ms either way), so this stays the only implementation.
 */
export function maxPoolIndices(src: Storage, indices: Int32Array, g: MaxPoolGeometry): void {
  let o = 0;
  for (let p = 0; p < g.planes; p++) {
    const base = p * g.H * g.W;
    for (let oh = 0; oh < g.OH; oh++) {
      const kh0 = g.rowsOf[2 * oh]!;
      const kh1 = g.rowsOf[2 * oh + 1]!;
      const ih0 = oh * g.SH - g.PH;
      for (let ow = 0; ow < g.OW; ow++) {
        const kw0 = g.colsOf[2 * ow]!;
        const kw1 = g.colsOf[2 * ow + 1]!;
        const iw0 = ow * g.SW - g.PW;
        let best = -Infinity;
        let bi = -1;
        for (let kh = kh0; kh < kh1; kh++) {
          const row = base + (ih0 + kh * g.DH) * g.W + iw0;
          for (let kw = kw0; kw < kw1; kw++) {
            const q = row + kw * g.DW;
            const v = src[q]!;
            // The comparison decides an index, then the value is read back: no branch per element
            // (random activations mispredict it; same choice as v > best || v !== v || bi < 0).
            bi += (+(v > best) | +(v !== v) | +(bi < 0)) * (q - bi);
            best = src[bi]!;
          }
        }
        indices[o++] = bi;
      }
    }
  }
}

export function avgPool(src: Storage, dst: Storage, a: AvgPoolWindows): void {
  const [N, C, H, W] = a.inShape as [number, number, number, number];
  const [, , OH, OW] = a.outShape as [number, number, number, number];
  for (let p = 0; p < N * C; p++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        let acc = 0;
        for (let ih = a.h0[oh]!; ih < a.h1[oh]!; ih++) {
          const r = p * H * W + ih * W;
          for (let iw = a.w0[ow]!; iw < a.w1[ow]!; iw++) acc += src[r + iw]!;
        }
        dst[(p * OH + oh) * OW + ow] = acc / a.divisor[oh * OW + ow]!;
      }
    }
  }
}

export function avgPoolTranspose(src: Storage, dst: Storage, a: AvgPoolWindows): void {
  const [N, C, H, W] = a.inShape as [number, number, number, number];
  const [, , OH, OW] = a.outShape as [number, number, number, number];
  for (let p = 0; p < N * C; p++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const v = src[(p * OH + oh) * OW + ow]! / a.divisor[oh * OW + ow]!;
        for (let ih = a.h0[oh]!; ih < a.h1[oh]!; ih++) {
          const r = p * H * W + ih * W;
          for (let iw = a.w0[ow]!; iw < a.w1[ow]!; iw++) dst[r + iw] = dst[r + iw]! + v;
        }
      }
    }
  }
}
