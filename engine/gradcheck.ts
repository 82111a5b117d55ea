import { Tensor } from './tensor.js';
import { grad } from './grad.js';
import { concat, reshape } from './ops/shape.js';
import { zeros } from './ops/creation.js';
import { Rng } from './random.js';
import { markModified } from './model-state.js';

export interface GradcheckOptions {
  /** Central-difference step. */
  eps?: number;
  atol?: number;
  rtol?: number;
  seed?: number;
}

export interface GradcheckReport {
  ok: boolean;
  maxAbsError: number;
  /** Where the worst mismatch is: input index, element, analytic and numeric values. */
  worst: { input: number; element: number; analytic: number; numeric: number } | null;
}

function flatGradients(out: Tensor, inputs: readonly Tensor[], seed: Tensor, createGraph: boolean): Tensor[] {
  const gs = grad(out, inputs, { gradOutputs: seed, createGraph, retainGraph: true, allowUnused: true });
  return gs.map((g, i) => g ?? zeros(inputs[i]!.shape, { dtype: inputs[i]!.dtype }));
}

/**
 * Compares the VJP of `fn` at a random seed vector with central differences of <fn(x), seed>, for
 * every element of every input. Needs float64 inputs that require grad.
 */
export function gradcheck(fn: (...inputs: Tensor[]) => Tensor, inputs: readonly Tensor[], options: GradcheckOptions = {}): GradcheckReport {
  const eps = options.eps ?? 1e-6;
  const atol = options.atol ?? 1e-6;
  const rtol = options.rtol ?? 1e-5;
  for (const t of inputs) {
    if (t.dtype !== 'float64') throw new Error(`gradcheck: inputs must be float64 (got ${t.dtype}); float32 differences are too coarse`);
    if (!t.requiresGrad) throw new Error('gradcheck: every input must require grad');
  }
  const rng = new Rng(options.seed ?? 1234);
  const out0 = fn(...inputs);
  const seed = new Tensor(Float64Array.from({ length: out0.size }, () => rng.normal()), out0.shape);
  const analytic = flatGradients(out0, inputs, seed, false);
  // Recorded, not under noGrad: fn may itself take gradients (gradgradcheck's VJP map does).
  const objective = (): number => {
    const o = fn(...inputs);
    let s = 0;
    for (let i = 0; i < o.size; i++) s += o.data[i]! * seed.data[i]!;
    return s;
  };
  let maxAbsError = 0;
  let worst: GradcheckReport['worst'] = null;
  let ok = true;
  inputs.forEach((t, ii) => {
    const data = t.data as Float64Array;
    for (let e = 0; e < data.length; e++) {
      const orig = data[e]!;
      // Inputs are never written by ops; perturbing in place here is the checker's private business,
      // declared after every write (model-state.ts) so the parameter cache and zero marks drop what they knew.
      data[e] = orig + eps;
      markModified(t);
      const fp = objective();
      data[e] = orig - eps;
      markModified(t);
      const fm = objective();
      data[e] = orig;
      markModified(t);
      const numeric = (fp - fm) / (2 * eps);
      const a = analytic[ii]!.data[e]!;
      const err = Math.abs(a - numeric);
      if (err > maxAbsError) {
        maxAbsError = err;
        worst = { input: ii, element: e, analytic: a, numeric };
      }
      if (!(err <= atol + rtol * Math.abs(numeric))) ok = false;
    }
  });
  return { ok, maxAbsError, worst };
}

/**
 * Checks second derivatives: gradcheck of the map (inputs, v) -> VJP(fn, inputs, v), whose own
 * backward runs through the recorded backward of `fn`.
 */
export function gradgradcheck(fn: (...inputs: Tensor[]) => Tensor, inputs: readonly Tensor[], options: GradcheckOptions = {}): GradcheckReport {
  const rng = new Rng((options.seed ?? 1234) + 1);
  const out0 = fn(...inputs);
  const v = new Tensor(Float64Array.from({ length: out0.size }, () => rng.normal()), out0.shape).requireGrad();
  const vjpFn = (...args: Tensor[]): Tensor => {
    const ins = args.slice(0, inputs.length);
    const vv = args[inputs.length]!;
    const out = fn(...ins);
    const gs = flatGradients(out, ins, vv, true);
    return concat(gs.map((g) => reshape(g, [g.size])), 0);
  };
  return gradcheck(vjpFn, [...inputs, v], options);
}
