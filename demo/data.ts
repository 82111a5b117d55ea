/**
 * The demo's synthetic data set: the class is a shape outline (square, cross, circle) of random
 * size, colour and position on a noisy background, and a small patch in the top-left corner whose
 * colour can encode the class too (the decoy). In the training set and the "consistent" test set the
 * patch colour always matches the class; in the "randomised" test set it is drawn independently of
 * the class, so a model that reads the patch instead of the shape falls to chance there.
 */
import { Rng, Tensor } from '../engine/index.js';

export const CLASS_NAMES = ['square', 'cross', 'circle'] as const;
/** Patch colour of each class (RGB in [0, 1]). */
export const DECOY_COLORS: readonly (readonly [number, number, number])[] = [
  [1, 0, 0],
  [0, 1, 0],
  [0, 0, 1],
];

export interface DataOptions {
  /** Image side in pixels (square images, 3 channels). Default 24. */
  size?: number;
  /** Side of the decoy patch. Default 4. */
  patch?: number;
  /** Offset of the patch from the top-left corner. Default 1. */
  patchOffset?: number;
  /** Standard deviation of the Gaussian pixel noise. Default 0.15. */
  noise?: number;
  /** Whether the patch colour follows the class ('consistent'), or is drawn at random ('random'). */
  decoy?: 'consistent' | 'random';
}

export interface DataSet {
  /** [N, 3, size, size] float32. */
  x: Tensor;
  /** Class per image. */
  y: Int32Array;
  /** The class whose colour the patch shows (equals y in consistent sets). */
  patchClass: Int32Array;
  /**
   * Per image, a [size, size] 0/1 plane of the shape's pixels (anti-aliased coverage > 0) grown
   * by one pixel on every side, as the decoy mask is: the object an explanation should point at.
   */
  objectMask: Uint8Array;
  size: number;
}

function resolved(o: DataOptions): Required<DataOptions> {
  return { size: o.size ?? 24, patch: o.patch ?? 4, patchOffset: o.patchOffset ?? 1, noise: o.noise ?? 0.15, decoy: o.decoy ?? 'consistent' };
}

/**
 * The region the explanation is scored on and penalised in: the patch grown by `margin` pixels on
 * every side (clipped to the image), since rules such as Flat spread relevance over the first
 * layer's receptive field. Returned as a [size, size] 0/1 plane.
 */
export function decoyMask(o: DataOptions = {}, margin = 1): Float32Array {
  const { size, patch, patchOffset } = resolved(o);
  const m = new Float32Array(size * size);
  const lo = Math.max(0, patchOffset - margin);
  const hi = Math.min(size, patchOffset + patch + margin);
  for (let r = lo; r < hi; r++) for (let c = lo; c < hi; c++) m[r * size + c] = 1;
  return m;
}

/** Anti-aliased coverage of a shape outline at pixel offset (dx, dy) from its centre, half-extent r. */
function coverage(cls: number, dx: number, dy: number, r: number, halfWidth: number): number {
  let d: number;
  if (cls === 0) d = Math.abs(Math.max(Math.abs(dx), Math.abs(dy)) - r);
  else if (cls === 1) {
    // A plus sign: distance to the nearer arm, arms of length r.
    const h = Math.abs(dx) <= r ? Math.abs(dy) : Math.hypot(Math.abs(dx) - r, dy);
    const v = Math.abs(dy) <= r ? Math.abs(dx) : Math.hypot(Math.abs(dy) - r, dx);
    d = Math.min(h, v);
  } else d = Math.abs(Math.hypot(dx, dy) - r);
  return Math.min(1, Math.max(0, halfWidth + 0.5 - d));
}

/** `n` images with balanced classes in random order. */
export function makeDataSet(n: number, rng: Rng, opts: DataOptions = {}): DataSet {
  const o = resolved(opts);
  const { size: S, patch: P, patchOffset: off } = o;
  // A shape of half-extent up to 7 needs 16 px, plus the corner kept clear for the patch.
  if (!Number.isInteger(S) || S < Math.max(24, off + P + 18)) throw new RangeError(`image size ${S} is too small for a ${P}px patch and a shape (at least ${Math.max(24, off + P + 18)})`);
  const hw = S * S;
  const data = new Float32Array(n * 3 * hw);
  const y = new Int32Array(n);
  const patchClass = new Int32Array(n);
  const objectMask = new Uint8Array(n * hw);
  const keepOut = off + P + 1; // shapes stay clear of the patch region
  for (let i = 0; i < n; i++) {
    const cls = i % 3;
    y[i] = cls;
    const pc = o.decoy === 'consistent' ? cls : rng.int(3);
    patchClass[i] = pc;
    const base = i * 3 * hw;
    for (let k = 0; k < 3 * hw; k++) data[base + k] = o.noise * rng.normal();
    // The shape: half-extent 4..7 px, random bright colour, centre anywhere it fits clear of the patch.
    const r = 4 + rng.uniform() * 3;
    const margin = Math.ceil(r) + 1;
    // Rejection sampling; with S >= off + P + 18 at least one axis always has room beyond keepOut.
    let cx = 0;
    let cy = 0;
    do {
      cx = margin + rng.uniform() * (S - 1 - 2 * margin);
      cy = margin + rng.uniform() * (S - 1 - 2 * margin);
    } while (cx - margin < keepOut && cy - margin < keepOut);
    const col = [0, 1, 2].map(() => 0.35 + 0.65 * rng.uniform());
    const x0 = Math.max(0, Math.floor(cx - r - 2));
    const x1 = Math.min(S - 1, Math.ceil(cx + r + 2));
    const y0 = Math.max(0, Math.floor(cy - r - 2));
    const y1 = Math.min(S - 1, Math.ceil(cy + r + 2));
    for (let py = y0; py <= y1; py++) {
      for (let px = x0; px <= x1; px++) {
        const a = coverage(cls, px - cx, py - cy, r, 0.5);
        if (a <= 0) continue;
        for (let my = Math.max(0, py - 1); my <= Math.min(S - 1, py + 1); my++) {
          for (let mx = Math.max(0, px - 1); mx <= Math.min(S - 1, px + 1); mx++) objectMask[i * hw + my * S + mx] = 1;
        }
        for (let c = 0; c < 3; c++) data[base + c * hw + py * S + px] += a * col[c]!;
      }
    }
    const pcol = DECOY_COLORS[pc]!;
    for (let py = off; py < off + P; py++) {
      for (let px = off; px < off + P; px++) {
        for (let c = 0; c < 3; c++) data[base + c * hw + py * S + px] += pcol[c]!;
      }
    }
  }
  // Shuffle so mini-batches mix the classes.
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const sx = new Float32Array(data.length);
  const sy = new Int32Array(n);
  const sp = new Int32Array(n);
  const sm = new Uint8Array(n * hw);
  order.forEach((src, dst) => {
    sm.set(objectMask.subarray(src * hw, (src + 1) * hw), dst * hw);
    sx.set(data.subarray(src * 3 * hw, (src + 1) * 3 * hw), dst * 3 * hw);
    sy[dst] = y[src]!;
    sp[dst] = patchClass[src]!;
  });
  return { x: new Tensor(sx, [n, 3, S, S]), y: sy, patchClass: sp, objectMask: sm, size: S };
}

/** Images `[start, end)` of a data set as a batch. */
export function batchOf(ds: DataSet, start: number, end: number): { x: Tensor; y: Int32Array } {
  const per = 3 * ds.size * ds.size;
  const e = Math.min(end, ds.y.length);
  const x = new Tensor((ds.x.data as Float32Array).slice(start * per, e * per), [e - start, 3, ds.size, ds.size]);
  return { x, y: ds.y.slice(start, e) };
}

/** The images at `indices` as a batch (for shuffled mini-batches). */
export function gatherBatch(ds: DataSet, indices: ArrayLike<number>): { x: Tensor; y: Int32Array } {
  const per = 3 * ds.size * ds.size;
  const src = ds.x.data as Float32Array;
  const x = new Float32Array(indices.length * per);
  const y = new Int32Array(indices.length);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k]!;
    x.set(src.subarray(i * per, (i + 1) * per), k * per);
    y[k] = ds.y[i]!;
  }
  return { x: new Tensor(x, [indices.length, 3, ds.size, ds.size]), y };
}

/**
 * The demo's data sets for a seed, drawn exactly as `runDemo` draws them (one generator, forked per
 * set in this order), so `lrp-tape evaluate` scores the demo's models on the demo's test sets.
 */
export function demoDataSets(seed: number, sizes: { trainSize: number; testSize: number }, dataOpts: DataOptions): { rng: Rng; train: DataSet; consistent: DataSet; randomised: DataSet } {
  const rng = new Rng(seed);
  const train = makeDataSet(sizes.trainSize, rng.fork(), { ...dataOpts, decoy: 'consistent' });
  const consistent = makeDataSet(sizes.testSize, rng.fork(), { ...dataOpts, decoy: 'consistent' });
  const randomised = makeDataSet(sizes.testSize, rng.fork(), { ...dataOpts, decoy: 'random' });
  return { rng, train, consistent, randomised };
}
