/**
 * Every kernel's signature, once. A kernel is a function over typed arrays and plain numbers: no
 * tensors, no tape. The ops call them through the dispatcher (dispatch.ts), which picks the backend
 * per call; each backend folder implements them:
 *
 * - ts/        the TypeScript reference: every kernel, never declines;
 * - wasm/      WebAssembly SIMD: GEMM, convolutions, clamp, relu;
 * - parallel/  worker threads: large GEMMs and convolutions, split into chunks that run the
 *              backends below it.
 *
 * This module imports nothing, so any file may import it without creating a cycle.
 */

export type FloatArray = Float32Array | Float64Array;
/** A tensor's storage. */
export type Storage = Float32Array | Float64Array | Int32Array;
/** A shape (row-major, contiguous). */
export type Dims = readonly number[];

/** The serial kernel set that runs (threads or not): 'wasm' (WebAssembly SIMD) or 'ts' (TypeScript). */
export type KernelBackend = 'ts' | 'wasm';

/** Geometry of one 2-D convolution, PyTorch's conventions (NCHW input, OIHW weight with I = C / groups). */
export interface ConvGeometry {
  N: number;
  C: number;
  H: number;
  W: number;
  O: number;
  KH: number;
  KW: number;
  OH: number;
  OW: number;
  strideH: number;
  strideW: number;
  padH: number;
  padW: number;
  dilH: number;
  dilW: number;
  groups: number;
}

/** Binary ops with hand-written loops (a closure per element, as `binaryMap` calls, is several times slower). */
export const enum BinaryCode {
  Add = 0,
  Sub = 1,
  Mul = 2,
  Div = 3,
  /** out = a, broadcast (expand). */
  Copy = 4,
}

export type Comparison = 'gt' | 'ge' | 'lt' | 'le' | 'eq' | 'ne';

/** Max pooling over planes of H x W; per output row / column the kernel taps inside the input. */
export interface MaxPoolGeometry {
  planes: number;
  H: number;
  W: number;
  OH: number;
  OW: number;
  SH: number;
  SW: number;
  PH: number;
  PW: number;
  DH: number;
  DW: number;
  /** [k0, k1) per output row, interleaved. */
  rowsOf: Int32Array;
  colsOf: Int32Array;
}

/** Average pooling as explicit windows: per output row / column [start, end) in the input, and each output cell's divisor. */
export interface AvgPoolWindows {
  inShape: readonly number[];
  outShape: readonly number[];
  h0: Int32Array;
  h1: Int32Array;
  w0: Int32Array;
  w1: Int32Array;
  divisor: Float64Array;
}

/** A strided window of a `full` array: per axis the start, the step and the window's size. */
export interface Window {
  starts: number[];
  steps: number[];
  sizes: number[];
  full: number[];
}

/**
 * The kernels. Output arrays are fresh (zeroed) unless a kernel says it accumulates; no kernel
 * writes into an input array.
 */
export interface Kernels {
  /**
   * C[M,N] (+)= op(A)[M,K] * op(B)[K,N], row-major with row strides lda, ldb, ldc (A stored [K,M]
   * when transposed, likewise B). All three arrays share one dtype. Products are not skipped for
   * zero entries, so NaN/Inf propagate as IEEE arithmetic says.
   */
  gemm(
    transA: boolean, transB: boolean, M: number, N: number, K: number,
    A: FloatArray, aOff: number, lda: number, B: FloatArray, bOff: number, ldb: number,
    C: FloatArray, cOff: number, ldc: number, accumulate: boolean,
  ): void;
  /** y[N,O,OH,OW] = conv(x, w) without bias. `constantW`: w is never written again (a cached weight), so a backend may keep a copy. */
  conv2dForward(x: FloatArray, w: FloatArray, y: FloatArray, g: ConvGeometry, constantW?: boolean): void;
  /** gx[N,C,H,W] = d<conv(x,w), gy>/dx (the transposed convolution of gy with w). */
  conv2dBackwardInput(gy: FloatArray, w: FloatArray, gx: FloatArray, g: ConvGeometry, constantW?: boolean): void;
  /** gw[O,C/groups,KH,KW] = d<conv(x,w), gy>/dw. */
  conv2dBackwardWeight(x: FloatArray, gy: FloatArray, gw: FloatArray, g: ConvGeometry): void;

  /** dst[i] = f(src[i], a). */
  map<A>(src: Storage, dst: Storage, f: (x: number, a: A) => number, a: A): void;
  neg(src: Storage, dst: Storage): void;
  exp(src: Storage, dst: Storage): void;
  /** +1, -1 or 0 (Math.sign). */
  sign(src: Storage, dst: Storage): void;
  /** src[i] <= 0 ? 0 : src[i]: NaN stays NaN, -0 becomes +0 (PyTorch's relu). */
  relu(src: Storage, dst: Storage): void;
  /** src[i] < lo ? lo : src[i] > hi ? hi : src[i] (NaN passes, -0 is kept against a 0 bound). */
  clamp(src: Storage, dst: Storage, lo: number, hi: number): void;
  /** zennit's stabiliser: x + eps for x >= 0, x - eps below. */
  stabilize(src: Storage, dst: Storage, eps: number): void;
  /** r / stabilize(y, eps), same lengths. */
  stabilizedDiv(r: Storage, y: Storage, dst: Storage, eps: number): void;
  /**
   * The VJP of clamp and relu without a mask array: dst[i] = g[i] where lo <= x[i] <= hi (lo < x[i]
   * when `openLo`), else g[i] * 0 (what multiplying by a 0/1 mask gives, bit for bit: -0 for a
   * negative g, NaN for an infinite one). NaN in x is outside.
   */
  passWithin(g: Storage, x: Storage, dst: Storage, lo: number, hi: number, openLo: boolean): void;
  /** dst[i] = src[i] (cmp) y ? 1 : 0. */
  compareScalar(cmp: Comparison, src: Storage, y: number, dst: Storage): void;
  /** data[i] *= s, in place (on a fresh output). */
  scale(data: Storage, s: number): void;
  /** dst[i] = f(i) (fills: ranges, random draws, masks). */
  fill(dst: Storage, f: (i: number) => number): void;

  /** No element lies outside [lo, hi] (NaN counts as inside, as clamp passes it). */
  allWithin(src: Storage, lo: number, hi: number): boolean;
  /** Every element is >= bound, and none is -0. */
  allAtLeast(src: Storage, bound: number): boolean;
  /** Every element is <= bound, and none is -0. */
  allAtMost(src: Storage, bound: number): boolean;
  hasNegativeZero(src: Storage): boolean;
  /** No NaN or infinity. */
  allFinite(src: Storage): boolean;

  /** out = a (code) b with NumPy broadcasting; out may be a itself when a has out's shape (an in-place sum or product). */
  binary(code: BinaryCode, a: Storage, aShape: Dims, b: Storage, bShape: Dims, out: Storage, outShape: Dims): void;
  /** out = f(a, b) with NumPy broadcasting. */
  binaryMap(a: Storage, aShape: Dims, b: Storage, bShape: Dims, out: Storage, outShape: Dims, f: (x: number, y: number) => number): void;
  /** out = c != 0 ? a : b with NumPy broadcasting. */
  where(c: Storage, cShape: Dims, a: Storage, aShape: Dims, b: Storage, bShape: Dims, out: Storage, outShape: Dims): void;
  /** Sums src over `axes` into out (the shape with those axes kept as 1). */
  reduceSum(src: Storage, srcShape: Dims, axes: readonly number[], out: FloatArray): void;
  /** Index of the maximum along the middle axis of [outer, n, inner] (first on ties, NaN wins). */
  argmax(src: Storage, outer: number, n: number, inner: number, idx: Int32Array): void;
  /** dst[o, idx[o, i], i] = 1 for a fresh [outer, n, inner] dst. */
  oneHotAlong(idx: Int32Array, outer: number, n: number, inner: number, dst: Storage): void;
  /** One-hot rows for class indices; returns the position of the first target outside [0, classes), or -1. */
  oneHotRows(targets: ArrayLike<number>, classes: number, dst: Storage): number;
  /** Softmax along the middle axis of [outer, n, inner]. */
  softmax(src: Storage, dst: Storage, outer: number, n: number, inner: number): void;
  /** dst[n, c, i] = src[n, c, i] * scale[c] + shift[c] over [N, C, inner]. */
  channelAffine(src: Storage, dst: Storage, scale: Storage, shift: Storage, N: number, C: number, inner: number): void;
  /** y[n, o, p] += b[o] over [N, O, P], in place (a fresh convolution output). */
  addChannelBias(y: Storage, b: Storage, N: number, O: number, P: number): void;
  /** dst[i, j] = 1 for j <= i of a fresh [T, T] dst. */
  lowerTriangle(dst: Storage, T: number): void;

  /** dst = src permuted: dst's axis d is src's axis dims[d]. */
  permute(src: Storage, srcShape: Dims, dims: readonly number[], dst: Storage): void;
  /** Between a compact array of the window's shape and the window of a full one: gather (dst[i] = src[window i]) or scatter. */
  copyWindow(w: Window, src: Storage, dst: Storage, gather: boolean): void;
  /** Copies `outer` rows of `row` elements of src into dst's rows of `rowOut`, at offset `off` in each. */
  concatRows(src: Storage, dst: Storage, outer: number, row: number, rowOut: number, off: number): void;
  /** dst[idx[i]] += src[i] (dst fresh). */
  scatterAdd(src: Storage, dst: Storage, idx: Int32Array): void;
  /** dst[i] = src[idx[i]]. */
  gather(src: Storage, dst: Storage, idx: Int32Array): void;
  /** PyTorch's max-pool winner per window (flat index into src). */
  maxPoolIndices(src: Storage, indices: Int32Array, g: MaxPoolGeometry): void;
  avgPool(src: Storage, dst: Storage, w: AvgPoolWindows): void;
  /** The adjoint of avgPool (dst fresh, accumulated into). */
  avgPoolTranspose(src: Storage, dst: Storage, w: AvgPoolWindows): void;
}

export type KernelName = keyof Kernels;

/**
 * A backend's version of one kernel: true when it computed the call, false when it declines (too
 * small to pay, too large for its memory, a case it cannot reproduce bit for bit) having written
 * nothing; the dispatcher then tries the next backend of the table. `next` is that rest of the
 * table as one kernel, for backends that split a call into smaller calls (threads).
 */
export type Accelerated<K extends KernelName> = (next: Kernels[K], ...args: Parameters<Kernels[K]>) => boolean;

/** One row of the dispatcher's table: a backend and the kernels it accelerates. */
export interface Backend {
  readonly name: string;
  /** Checked on every call: loaded, chosen, and (threads) not already inside a split call. */
  active(): boolean;
  readonly kernels: { readonly [K in KernelName]?: Accelerated<K> };
}
