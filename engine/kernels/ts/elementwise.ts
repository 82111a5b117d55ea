/**
 * Add, sub, mul, div and copy with NumPy broadcasting, through hand-written row loops: the generic
 * path (broadcast.ts's binaryMap) calls a closure per element, which V8 cannot inline there.
 */
import { BinaryCode, type Dims as Shape, type Storage as Arr } from '../types.js';
import { broadcastStrides } from './broadcast.js';

/**
 * One contiguous row: out[io + k] = a[ia + k*sa] (op) b[ib + k*sb] for k < n, where each stride is
 * 0 or 1. The switch is outside the loops, so each loop is monomorphic arithmetic.
 */
function row(code: BinaryCode, a: Arr, ia: number, sa: number, b: Arr, ib: number, sb: number, out: Arr, io: number, n: number): void {
  if (sa === 1 && sb === 1) {
    switch (code) {
      case BinaryCode.Add: for (let k = 0; k < n; k++) out[io + k] = a[ia + k]! + b[ib + k]!; return;
      case BinaryCode.Sub: for (let k = 0; k < n; k++) out[io + k] = a[ia + k]! - b[ib + k]!; return;
      case BinaryCode.Mul: for (let k = 0; k < n; k++) out[io + k] = a[ia + k]! * b[ib + k]!; return;
      case BinaryCode.Div: for (let k = 0; k < n; k++) out[io + k] = a[ia + k]! / b[ib + k]!; return;
      case BinaryCode.Copy: for (let k = 0; k < n; k++) out[io + k] = a[ia + k]!; return;
    }
  }
  if (sa === 1 && sb === 0) {
    const y = b[ib]!;
    switch (code) {
      case BinaryCode.Add: for (let k = 0; k < n; k++) out[io + k] = a[ia + k]! + y; return;
      case BinaryCode.Sub: for (let k = 0; k < n; k++) out[io + k] = a[ia + k]! - y; return;
      case BinaryCode.Mul: for (let k = 0; k < n; k++) out[io + k] = a[ia + k]! * y; return;
      case BinaryCode.Div: for (let k = 0; k < n; k++) out[io + k] = a[ia + k]! / y; return;
      case BinaryCode.Copy: for (let k = 0; k < n; k++) out[io + k] = a[ia + k]!; return;
    }
  }
  if (sa === 0 && sb === 1) {
    const x = a[ia]!;
    switch (code) {
      case BinaryCode.Add: for (let k = 0; k < n; k++) out[io + k] = x + b[ib + k]!; return;
      case BinaryCode.Sub: for (let k = 0; k < n; k++) out[io + k] = x - b[ib + k]!; return;
      case BinaryCode.Mul: for (let k = 0; k < n; k++) out[io + k] = x * b[ib + k]!; return;
      case BinaryCode.Div: for (let k = 0; k < n; k++) out[io + k] = x / b[ib + k]!; return;
      case BinaryCode.Copy: for (let k = 0; k < n; k++) out[io + k] = x; return;
    }
  }
  const x = a[ia]!;
  const y = b[ib]!;
  const v = code === BinaryCode.Add ? x + y : code === BinaryCode.Sub ? x - y : code === BinaryCode.Mul ? x * y : code === BinaryCode.Div ? x / y : x;
  out.fill(v, io, io + n);
}

/**
 * A strided row: out[io + k*so] = a[ia + k*sa] (op) b[ib + k*sb] for k < n. Used down the columns of
 * index spaces whose innermost dim is short (stack / expand along a trailing axis of 2), where a
 * row of 2 per call would cost more in calls than in arithmetic.
 */
function column(code: BinaryCode, a: Arr, ia: number, sa: number, b: Arr, ib: number, sb: number, out: Arr, io: number, so: number, n: number): void {
  switch (code) {
    case BinaryCode.Add: for (let k = 0; k < n; k++) out[io + k * so] = a[ia + k * sa]! + b[ib + k * sb]!; return;
    case BinaryCode.Sub: for (let k = 0; k < n; k++) out[io + k * so] = a[ia + k * sa]! - b[ib + k * sb]!; return;
    case BinaryCode.Mul: for (let k = 0; k < n; k++) out[io + k * so] = a[ia + k * sa]! * b[ib + k * sb]!; return;
    case BinaryCode.Div: for (let k = 0; k < n; k++) out[io + k * so] = a[ia + k * sa]! / b[ib + k * sb]!; return;
    case BinaryCode.Copy: for (let k = 0; k < n; k++) out[io + k * so] = a[ia + k * sa]!; return;
  }
}

/** Rows shorter than this, under a longer second-innermost dim, are walked column by column. */
const SHORT_ROW = 8;

/**
 * Collapses the broadcast index space into as few dims as possible (adjacent dims merge when both
 * operands walk them contiguously, or both broadcast them), so the innermost row is long.
 */
function collapse(outShape: Shape, sa: number[], sb: number[]): { shape: number[]; sa: number[]; sb: number[] } {
  const shape: number[] = [];
  const ra: number[] = [];
  const rb: number[] = [];
  for (let i = 0; i < outShape.length; i++) {
    const d = outShape[i]!;
    if (d === 1) continue;
    const last = shape.length - 1;
    if (last >= 0 && ra[last] === sa[i]! * d && rb[last] === sb[i]! * d) {
      shape[last] = shape[last]! * d;
      ra[last] = sa[i]!;
      rb[last] = sb[i]!;
    } else {
      shape.push(d);
      ra.push(sa[i]!);
      rb.push(sb[i]!);
    }
  }
  if (!shape.length) return { shape: [1], sa: [0], sb: [0] };
  return { shape, sa: ra, sb: rb };
}

type Collapsed = ReturnType<typeof collapse>;

/**
 * Calls visit(o, pa, pb) for each block of `block` output elements (the last `tail` collapsed
 * dims), advancing the dims before them like an odometer: pa and pb are the operands' offsets.
 */
function forEachBlock(c: Collapsed, tail: number, block: number, size: number, visit: (o: number, pa: number, pb: number) => void): void {
  const n = c.shape.length;
  const idx = new Array<number>(n).fill(0);
  let pa = 0;
  let pb = 0;
  for (let o = 0; o < size; o += block) {
    visit(o, pa, pb);
    for (let d = n - 1 - tail; d >= 0; d--) {
      idx[d]!++;
      pa += c.sa[d]!;
      pb += c.sb[d]!;
      if (idx[d]! < c.shape[d]!) break;
      pa -= c.sa[d]! * c.shape[d]!;
      pb -= c.sb[d]! * c.shape[d]!;
      idx[d] = 0;
    }
  }
}

/** out = a (op) b with NumPy broadcasting, through the specialised row loops. */
export function binary(code: BinaryCode, a: Arr, aShape: Shape, b: Arr, bShape: Shape, out: Arr, outShape: Shape): void {
  const size = out.length;
  if (size === 0) return;
  const c = collapse(outShape, broadcastStrides(aShape, outShape), broadcastStrides(bShape, outShape));
  const n = c.shape.length;
  const inner = c.shape[n - 1]!;
  const ia0 = c.sa[n - 1]!;
  const ib0 = c.sb[n - 1]!;
  if (n >= 2 && inner < SHORT_ROW && c.shape[n - 2]! > inner) {
    // The two innermost dims as `inner` strided columns of `mid` elements each.
    const mid = c.shape[n - 2]!;
    const ma = c.sa[n - 2]!;
    const mb = c.sb[n - 2]!;
    forEachBlock(c, 2, mid * inner, size, (o, pa, pb) => {
      for (let k = 0; k < inner; k++) column(code, a, pa + k * ia0, ma, b, pb + k * ib0, mb, out, o + k, inner, mid);
    });
    return;
  }
  if ((ia0 === 0 || ia0 === 1) && (ib0 === 0 || ib0 === 1)) {
    forEachBlock(c, 1, inner, size, (o, pa, pb) => row(code, a, pa, ia0, b, pb, ib0, out, o, inner));
    return;
  }
  // Inner strides other than 0/1 cannot happen after collapsing a broadcast; kept for safety.
  throw new Error(`binary: unexpected inner strides ${ia0}, ${ib0}`);
}
