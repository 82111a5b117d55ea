/**
 * One tile's computation (a sub-convolution through the ordinary single-threaded kernel, or a
 * GEMM chunk), and the boxes of the arrays a tile reads and writes. Planning is in plan.ts, which
 * this module re-exports.
 */
import type { FloatArray, ConvGeometry, Kernels } from '../types.js';
import { FORWARD, BACKWARD_INPUT, OUT_ROWS, IN_ROWS, W_CHANNELS, W_OUT, W_GROUPS, OUT_CHANNELS, IN_CHANNELS, bandRows, type Box, type Dims, type ConvKind, type ConvFn } from './plan.js';

export * from './plan.js';

// ---------------------------------------------------------------------------------------------
// Row segments: a thread's unit range cut at image edges.

interface Segment {
  /** First image and image count (count > 1 only for whole images). */
  n: number;
  count: number;
  /** Unit range within the image ([0, R) for whole images). */
  r0: number;
  r1: number;
  whole: boolean;
}

function segments(u0: number, u1: number, R: number): Segment[] {
  const out: Segment[] = [];
  let u = u0;
  while (u < u1) {
    const n = Math.floor(u / R);
    const r0 = u - n * R;
    if (r0 === 0 && u1 - u >= R) {
      const count = Math.floor((u1 - u) / R);
      out.push({ n, count, r0: 0, r1: R, whole: true });
      u += count * R;
    } else {
      const r1 = Math.min(R, r0 + (u1 - u));
      out.push({ n, count: 1, r0, r1, whole: false });
      u += r1 - r0;
    }
  }
  return out;
}

/** The input rows a band of output rows [oh0, oh1) reads, and the sub-geometry computing them. */
function forwardWindow(g: ConvGeometry, oh0: number, oh1: number): { ih0: number; ih1: number; sub: ConvGeometry } {
  let ih0 = Math.max(0, oh0 * g.strideH - g.padH);
  const ih1 = Math.min(g.H, (oh1 - 1) * g.strideH - g.padH + (g.KH - 1) * g.dilH + 1);
  // Every tap of these rows in the padding: an empty window (the tile still writes its zeros).
  if (ih1 <= ih0) return { ih0: 0, ih1: 0, sub: { ...g, N: 1, H: 0, OH: oh1 - oh0, padH: 0 } };
  const padH = g.padH + ih0 - oh0 * g.strideH;
  return { ih0, ih1, sub: { ...g, N: 1, H: ih1 - ih0, OH: oh1 - oh0, padH } };
}

/** Input-gradient tile geometry for image rows of units [r0, r1) (bands or input rows, see IN_ROWS). */
interface InputWindow {
  ih0: number;
  ih1: number;
  oh0: number;
  oh1: number;
  sub: ConvGeometry;
}

function inputUnits(g: ConvGeometry): { R: number; rows: number; banded: boolean } {
  const rows = bandRows(g);
  return rows < g.OH ? { R: Math.ceil(g.OH / rows), rows, banded: true } : { R: g.H, rows, banded: false };
}

function inputWindow(g: ConvGeometry, r0: number, r1: number): InputWindow {
  const { R, rows, banded } = inputUnits(g);
  const { strideH: s, padH: p, H } = g;
  const reach = (g.KH - 1) * g.dilH;
  const ihOf = (r: number): number => {
    if (!banded) return r;
    if (r <= 0) return 0;
    if (r >= R) return H;
    return Math.min(H, Math.max(0, r * rows * s - p + reach));
  };
  const ih0 = ihOf(r0);
  const ih1 = ihOf(r1);
  // Output rows whose taps reach [ih0, ih1). A band tile starts on its band's first row; a row
  // tile starts early enough that the sub-geometry's padding is not negative (the extra row's
  // taps all land above ih0 and are skipped like padding).
  const ohLo = Math.max(0, Math.ceil((ih0 + p - reach) / s));
  const oh0 = banded ? Math.min(r0 * rows, ohLo) : Math.min(ohLo, Math.floor((ih0 + p) / s));
  const oh1 = Math.min(g.OH, Math.floor((ih1 - 1 + p) / s) + 1);
  return { ih0, ih1, oh0, oh1, sub: { ...g, N: 1, H: ih1 - ih0, OH: oh1 - oh0, padH: p + ih0 - oh0 * s } };
}

// ---------------------------------------------------------------------------------------------
// Boxes and copies

export function dimsOf(kind: ConvKind, g: ConvGeometry, arr: 0 | 1 | 2): Dims {
  const x: Dims = [g.N, g.C, g.H, g.W];
  const w: Dims = [g.O, g.C / g.groups, g.KH, g.KW];
  const y: Dims = [g.N, g.O, g.OH, g.OW];
  if (kind === FORWARD) return arr === 0 ? x : arr === 1 ? w : y;
  if (kind === BACKWARD_INPUT) return arr === 0 ? y : arr === 1 ? w : x;
  return arr === 0 ? x : arr === 1 ? y : w;
}

export function fullBox(d: Dims): Box {
  return { n0: 0, n1: d[0], c0: 0, c1: d[1], h0: 0, h1: d[2] };
}

export function boxSize(d: Dims, b: Box): number {
  return Math.max(0, b.n1 - b.n0) * Math.max(0, b.c1 - b.c0) * Math.max(0, b.h1 - b.h0) * d[3];
}

/**
 * Calls fn(offset in the full array, offset in the compact box, length) for each contiguous run
 * of the box, merging runs where the box spans whole trailing dimensions.
 */
function forEachRun(d: Dims, b: Box, fn: (full: number, compact: number, len: number) => void): void {
  const [, D1, D2, D3] = d;
  if (b.n1 <= b.n0 || b.c1 <= b.c0 || b.h1 <= b.h0) return;
  const rowLen = (b.h1 - b.h0) * D3;
  if (b.h0 === 0 && b.h1 === D2) {
    const chanLen = (b.c1 - b.c0) * D2 * D3;
    if (b.c0 === 0 && b.c1 === D1) {
      fn(b.n0 * D1 * D2 * D3, 0, (b.n1 - b.n0) * chanLen);
      return;
    }
    for (let n = b.n0; n < b.n1; n++) fn((n * D1 + b.c0) * D2 * D3, (n - b.n0) * chanLen, chanLen);
    return;
  }
  let k = 0;
  for (let n = b.n0; n < b.n1; n++) {
    for (let c = b.c0; c < b.c1; c++) {
      fn(((n * D1 + c) * D2 + b.h0) * D3, k, rowLen);
      k += rowLen;
    }
  }
}

/** Copies a box between two arrays of the same full layout (into / out of the shared buffer). */
export function copyBox(src: FloatArray, srcOff: number, dst: FloatArray, dstOff: number, d: Dims, b: Box): void {
  forEachRun(d, b, (full, _compact, len) => dst.set(src.subarray(srcOff + full, srcOff + full + len), dstOff + full));
}

/** Where the box starts in the full array when it is one contiguous run, else -1. */
function singleRun(d: Dims, b: Box): number {
  let start = -1;
  let runs = 0;
  forEachRun(d, b, (full) => {
    runs++;
    start = full;
  });
  return runs === 1 ? start : -1;
}

/** The box as a compact array: a view when it is one run, else gathered into `scratch`. */
function gather(src: FloatArray, d: Dims, b: Box, slot: number): FloatArray {
  const size = boxSize(d, b);
  const single = singleRun(d, b);
  if (single >= 0) return src.subarray(single, single + size);
  const dst = scratch(slot, src, size);
  forEachRun(d, b, (full, compact, len) => dst.set(src.subarray(full, full + len), compact));
  return dst;
}

/** An output buffer for the box: a view of dst when it is one run (written in place), else scratch. */
function outputFor(dst: FloatArray, d: Dims, b: Box, slot: number): { buf: FloatArray; direct: boolean } {
  const size = boxSize(d, b);
  const single = singleRun(d, b);
  if (single >= 0) return { buf: dst.subarray(single, single + size), direct: true };
  return { buf: scratch(slot, dst, size), direct: false };
}

function scatter(buf: FloatArray, dst: FloatArray, d: Dims, b: Box): void {
  forEachRun(d, b, (full, compact, len) => dst.set(buf.subarray(compact, compact + len), full));
}

const scratch32: Float32Array[] = [];
const scratch64: Float64Array[] = [];

/** Per-thread scratch (kept between calls), `n` elements of `like`'s dtype. */
function scratch(slot: number, like: FloatArray, n: number): FloatArray {
  if (like instanceof Float32Array) {
    if ((scratch32[slot]?.length ?? -1) < n) scratch32[slot] = new Float32Array(n);
    return scratch32[slot]!.subarray(0, n);
  }
  if ((scratch64[slot]?.length ?? -1) < n) scratch64[slot] = new Float64Array(n);
  return scratch64[slot]!.subarray(0, n);
}

// ---------------------------------------------------------------------------------------------
// Tiles

/** One input array's part of a tile: which array (0 = a, 1 = b) and the box. */
export interface Region {
  arr: 0 | 1;
  box: Box;
}

/** The boxes of a and b that units [u0, u1) of the split read. */
export function tileInputRegions(kind: ConvKind, g: ConvGeometry, split: number, u0: number, u1: number): Region[] {
  const regions: Region[] = [];
  if (u1 <= u0) return regions;
  const full = (arr: 0 | 1): Region => ({ arr, box: fullBox(dimsOf(kind, g, arr)) });
  const Cg = g.C / g.groups;
  const Og = g.O / g.groups;
  if (split === OUT_ROWS || split === IN_ROWS) {
    regions.push(full(1));
    const R = split === OUT_ROWS ? g.OH : inputUnits(g).R;
    const d = dimsOf(kind, g, 0);
    for (const s of segments(u0, u1, R)) {
      if (s.whole) regions.push({ arr: 0, box: { n0: s.n, n1: s.n + s.count, c0: 0, c1: d[1], h0: 0, h1: d[2] } });
      else if (split === OUT_ROWS) {
        const win = forwardWindow(g, s.r0, s.r1);
        regions.push({ arr: 0, box: { n0: s.n, n1: s.n + 1, c0: 0, c1: g.C, h0: win.ih0, h1: win.ih1 } });
      } else {
        const win = inputWindow(g, s.r0, s.r1);
        regions.push({ arr: 0, box: { n0: s.n, n1: s.n + 1, c0: 0, c1: g.O, h0: win.oh0, h1: Math.max(win.oh0, win.oh1) } });
      }
    }
    return regions;
  }
  if (split === OUT_CHANNELS) return [full(0), { arr: 1, box: { n0: u0, n1: u1, c0: 0, c1: Cg, h0: 0, h1: g.KH } }];
  if (split === IN_CHANNELS) return [full(0), { arr: 1, box: { n0: 0, n1: g.O, c0: u0, c1: u1, h0: 0, h1: g.KH } }];
  if (split === W_CHANNELS) return [{ arr: 0, box: { n0: 0, n1: g.N, c0: u0, c1: u1, h0: 0, h1: g.H } }, full(1)];
  if (split === W_OUT) return [full(0), { arr: 1, box: { n0: 0, n1: g.N, c0: u0, c1: u1, h0: 0, h1: g.OH } }];
  return [
    { arr: 0, box: { n0: 0, n1: g.N, c0: u0 * Cg, c1: u1 * Cg, h0: 0, h1: g.H } },
    { arr: 1, box: { n0: 0, n1: g.N, c0: u0 * Og, c1: u1 * Og, h0: 0, h1: g.OH } },
  ];
}

/** The boxes of `out` that units [u0, u1) of the split write (disjoint from every other chunk's). */
export function tileOutputBoxes(kind: ConvKind, g: ConvGeometry, split: number, u0: number, u1: number): Box[] {
  const boxes: Box[] = [];
  if (u1 <= u0) return boxes;
  if (split === OUT_ROWS || split === IN_ROWS) {
    const R = split === OUT_ROWS ? g.OH : inputUnits(g).R;
    const d = dimsOf(kind, g, 2);
    for (const s of segments(u0, u1, R)) {
      if (s.whole) boxes.push({ n0: s.n, n1: s.n + s.count, c0: 0, c1: d[1], h0: 0, h1: d[2] });
      else if (split === OUT_ROWS) boxes.push({ n0: s.n, n1: s.n + 1, c0: 0, c1: g.O, h0: s.r0, h1: s.r1 });
      else {
        const win = inputWindow(g, s.r0, s.r1);
        boxes.push({ n0: s.n, n1: s.n + 1, c0: 0, c1: g.C, h0: win.ih0, h1: win.ih1 });
      }
    }
    return boxes;
  }
  const Cg = g.C / g.groups;
  const Og = g.O / g.groups;
  if (split === OUT_CHANNELS) return [{ n0: 0, n1: g.N, c0: u0, c1: u1, h0: 0, h1: g.OH }];
  if (split === IN_CHANNELS) return [{ n0: 0, n1: g.N, c0: u0, c1: u1, h0: 0, h1: g.H }];
  if (split === W_CHANNELS) return [{ n0: 0, n1: g.O, c0: u0, c1: u1, h0: 0, h1: g.KH }];
  if (split === W_OUT) return [{ n0: u0, n1: u1, c0: 0, c1: Cg, h0: 0, h1: g.KH }];
  return [{ n0: u0 * Og, n1: u1 * Og, c0: 0, c1: Cg, h0: 0, h1: g.KH }];
}

/**
 * Computes units [u0, u1) of the split: reads a and b, writes only this tile's part of out.
 * All three arrays have the full layout of `g`; fn is the single-threaded kernel for `kind`.
 */
export function convTile(kind: ConvKind, fn: ConvFn, a: FloatArray, b: FloatArray, out: FloatArray, g: ConvGeometry, split: number, u0: number, u1: number): void {
  if (u1 <= u0) return;
  const dA = dimsOf(kind, g, 0);
  const dOut = dimsOf(kind, g, 2);
  if (split === OUT_ROWS || split === IN_ROWS) {
    const R = split === OUT_ROWS ? g.OH : inputUnits(g).R;
    for (const s of segments(u0, u1, R)) {
      if (s.whole) {
        const aBox: Box = { n0: s.n, n1: s.n + s.count, c0: 0, c1: dA[1], h0: 0, h1: dA[2] };
        const oBox: Box = { n0: s.n, n1: s.n + s.count, c0: 0, c1: dOut[1], h0: 0, h1: dOut[2] };
        fn(gather(a, dA, aBox, 0), b, outputFor(out, dOut, oBox, 1).buf, { ...g, N: s.count });
        continue;
      }
      let aBox: Box;
      let oBox: Box;
      let sub: ConvGeometry;
      if (split === OUT_ROWS) {
        const win = forwardWindow(g, s.r0, s.r1);
        sub = win.sub;
        aBox = { n0: s.n, n1: s.n + 1, c0: 0, c1: g.C, h0: win.ih0, h1: win.ih1 };
        oBox = { n0: s.n, n1: s.n + 1, c0: 0, c1: g.O, h0: s.r0, h1: s.r1 };
      } else {
        const win = inputWindow(g, s.r0, s.r1);
        if (win.ih1 <= win.ih0) continue;
        oBox = { n0: s.n, n1: s.n + 1, c0: 0, c1: g.C, h0: win.ih0, h1: win.ih1 };
        if (win.oh1 <= win.oh0) {
          // No output row reaches these input rows: their gradient is zero.
          forEachRun(dOut, oBox, (full, _c, len) => out.fill(0, full, full + len));
          continue;
        }
        sub = win.sub;
        aBox = { n0: s.n, n1: s.n + 1, c0: 0, c1: g.O, h0: win.oh0, h1: win.oh1 };
      }
      const o = outputFor(out, dOut, oBox, 1);
      fn(gather(a, dA, aBox, 0), b, o.buf, sub);
      if (!o.direct) scatter(o.buf, out, dOut, oBox);
    }
    return;
  }
  const Cg = g.C / g.groups;
  const Og = g.O / g.groups;
  const Kc = Cg * g.KH * g.KW;
  const dB = dimsOf(kind, g, 1);
  if (split === OUT_CHANNELS) {
    // Rows [u0, u1) of the weight, the same channels of y.
    const oBox: Box = { n0: 0, n1: g.N, c0: u0, c1: u1, h0: 0, h1: g.OH };
    const o = outputFor(out, dOut, oBox, 1);
    fn(a, b.subarray(u0 * Kc, u1 * Kc), o.buf, { ...g, O: u1 - u0 });
    if (!o.direct) scatter(o.buf, out, dOut, oBox);
    return;
  }
  if (split === IN_CHANNELS) {
    // Input channels [u0, u1) of the weight (a box of OIHW) and of gx.
    const oBox: Box = { n0: 0, n1: g.N, c0: u0, c1: u1, h0: 0, h1: g.H };
    const o = outputFor(out, dOut, oBox, 1);
    fn(a, gather(b, dB, { n0: 0, n1: g.O, c0: u0, c1: u1, h0: 0, h1: g.KH }, 2), o.buf, { ...g, C: u1 - u0 });
    if (!o.direct) scatter(o.buf, out, dOut, oBox);
    return;
  }
  if (split === W_CHANNELS) {
    const oBox: Box = { n0: 0, n1: g.O, c0: u0, c1: u1, h0: 0, h1: g.KH };
    const o = outputFor(out, dOut, oBox, 1);
    fn(gather(a, dA, { n0: 0, n1: g.N, c0: u0, c1: u1, h0: 0, h1: g.H }, 0), b, o.buf, { ...g, C: u1 - u0 });
    if (!o.direct) scatter(o.buf, out, dOut, oBox);
    return;
  }
  if (split === W_OUT) {
    fn(a, gather(b, dB, { n0: 0, n1: g.N, c0: u0, c1: u1, h0: 0, h1: g.OH }, 0), out.subarray(u0 * Kc, u1 * Kc), { ...g, O: u1 - u0 });
    return;
  }
  // W_GROUPS
  const ng = u1 - u0;
  fn(
    gather(a, dA, { n0: 0, n1: g.N, c0: u0 * Cg, c1: u1 * Cg, h0: 0, h1: g.H }, 0),
    gather(b, dB, { n0: 0, n1: g.N, c0: u0 * Og, c1: u1 * Og, h0: 0, h1: g.OH }, 2),
    out.subarray(u0 * Og * Kc, u1 * Og * Kc),
    { ...g, C: ng * Cg, O: ng * Og, groups: ng },
  );
}

// ---------------------------------------------------------------------------------------------
// GEMM chunks

export type GemmFn = Kernels['gemm'];

/** Rows [lo, hi) of C (byM) or columns [lo, hi) (otherwise) of C (+)= op(A) op(B): one kernel call. */
export function gemmChunk(
  fn: GemmFn, byM: boolean, lo: number, hi: number,
  transA: boolean, transB: boolean, M: number, N: number, K: number,
  A: FloatArray, aOff: number, lda: number, B: FloatArray, bOff: number, ldb: number,
  C: FloatArray, cOff: number, ldc: number, accumulate: boolean,
): void {
  if (hi <= lo) return;
  if (byM) fn(transA, transB, hi - lo, N, K, A, transA ? aOff + lo : aOff + lo * lda, lda, B, bOff, ldb, C, cOff + lo * ldc, ldc, accumulate);
  else fn(transA, transB, M, hi - lo, K, A, aOff, lda, B, transB ? bOff + lo * ldb : bOff + lo, ldb, C, cOff + lo, ldc, accumulate);
}
