/**
 * Small statistics the metrics share: means with a 95% interval, ranks, Spearman's rho, the Gini
 * index and the trapezoidal area under a curve. Plain arrays in, numbers out.
 */

export interface Summary {
  mean: number;
  /** Lower end of the 95% confidence interval of the mean. */
  low: number;
  high: number;
  /** Values the summary is over (NaN values are left out and not counted). */
  n: number;
}

/**
 * Two-sided 97.5% quantiles of Student's t for 1..30 degrees of freedom; beyond 30 the normal
 * quantile 1.96 is within 2% of the exact value.
 */
const T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];

/** Mean and the t-based 95% confidence interval of the mean (low = high = mean for one value). */
export function summarize(values: ArrayLike<number>): Summary {
  const xs = Array.from(values).filter((v) => !Number.isNaN(v));
  const n = xs.length;
  if (n === 0) return { mean: NaN, low: NaN, high: NaN, n: 0 };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { mean, low: mean, high: mean, n };
  const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1);
  const t = n - 1 <= T975.length ? T975[n - 2]! : 1.96;
  const half = t * Math.sqrt(variance / n);
  return { mean, low: mean - half, high: mean + half, n };
}

/** Ranks 1..n, ties get the average of the ranks they span (as scipy's rankdata 'average'). */
export function ranks(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => values[a]! - values[b]!);
  const out = new Float64Array(n);
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && values[order[j + 1]!] === values[order[i]!]) j++;
    const r = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) out[order[k]!] = r;
    i = j + 1;
  }
  return out;
}

/** Pearson's correlation; NaN when either side is constant. */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  if (n !== b.length) throw new RangeError(`pearson: ${n} values against ${b.length}`);
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]!;
    mb += b[i]!;
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i]! - ma;
    const db = b[i]! - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return saa === 0 || sbb === 0 ? NaN : sab / Math.sqrt(saa * sbb);
}

/** Spearman's rank correlation: Pearson's correlation of the (tie-averaged) ranks. */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return pearson(ranks(a), ranks(b));
}

/**
 * Gini index of |v| (Hurley & Rickard 2009, as Chalasani et al. 2020 and Quantus use it for
 * sparseness): 0 when every entry has the same magnitude, (n - 1) / n when one entry holds
 * everything. All-zero vectors give 0.
 */
export function gini(values: ArrayLike<number>): number {
  const n = values.length;
  const v = Float64Array.from(values, Math.abs).sort();
  let total = 0;
  let weighted = 0;
  for (let k = 0; k < n; k++) {
    total += v[k]!;
    weighted += (k + 1) * v[k]!;
  }
  if (total === 0) return 0;
  return (2 * weighted) / (n * total) - (n + 1) / n;
}

/** Trapezoidal area under y sampled at equally spaced points of [0, 1]. */
export function auc(y: ArrayLike<number>): number {
  const n = y.length;
  if (n < 2) throw new RangeError('auc: a curve needs at least two points');
  let s = 0;
  for (let i = 1; i < n; i++) s += (y[i - 1]! + y[i]!) / 2;
  return s / (n - 1);
}
