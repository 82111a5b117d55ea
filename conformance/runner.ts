import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import { buildFromSpec } from '../models/index.js';
import type { Module } from '../nn/index.js';
import { canonize, canonizerFrom } from '../canonizers/index.js';
import { compositeFromSpec, type Composite } from '../composites/index.js';
import { recordForward, integratedGradients, occlusion, oneHotSeed, type Forward, type Seed } from '../attribution/index.js';
import { allowedError, CaseError, loadCase, maxAbsDiff, need, type LoadedCase } from './case.js';

export interface TensorCheck {
  tensor: string;
  maxErr: number;
  allowed: number;
  ok: boolean;
}

export interface CaseResult {
  name: string;
  file: string;
  ok: boolean;
  checks: TensorCheck[];
  /** Why the case could not run (unsupported feature, unreadable file). */
  reason?: string;
  /** The case needs second-order or parameter relevance checks. */
  kind: 'first-order' | 'egl' | 'param_relevance';
  ms: number;
}

function buildModel(c: LoadedCase): Module {
  const model = buildFromSpec(c.spec.model as never, { dtype: c.spec.dtype });
  const params = new Map<string, Tensor>();
  for (const [k, t] of c.tensors) if (k.startsWith('param/')) params.set(k.slice(6), t);
  model.loadStateDict(params, { strict: true });
  model.eval();
  return model;
}

/** L = sum(R * w) + 0.5 * sum(R^2), FORMAT.md's explanation loss. */
function eglLoss(relevance: Tensor, weight: Tensor): Tensor {
  return E.add(E.sum(E.mul(relevance, weight)), E.mul(E.sum(E.mul(relevance, relevance)), 0.5));
}

/**
 * Runs one case (its file's bytes, or a function that reads them, so a read error becomes a result
 * too) and compares every expected tensor it holds. `path` names the case in results and errors.
 * Never throws: failures become results.
 */
export function runCase(bytes: Uint8Array | (() => Uint8Array), path: string): CaseResult {
  const t0 = performance.now();
  let name = path.split('/').pop()!.replace(/\.safetensors$/, '');
  let kind: CaseResult['kind'] = 'first-order';
  try {
    const c = loadCase(typeof bytes === 'function' ? bytes() : bytes, path);
    name = c.spec.name;
    kind = c.spec.param_relevance ? 'param_relevance' : c.spec.egl ? 'egl' : 'first-order';
    const checks: TensorCheck[] = [];
    const check = (tensorName: string, actual: Tensor | undefined | null): void => {
      const expected = c.tensors.get(tensorName);
      if (!expected) return;
      const allowed = allowedError(expected, c.spec.dtype);
      const maxErr = actual ? maxAbsDiff(actual, expected) : Infinity;
      checks.push({ tensor: tensorName, maxErr, allowed, ok: maxErr <= allowed });
    };
    const model = buildModel(c);
    const canonizers = (c.spec.composite?.canonizers ?? []).map((n) => canonizerFrom(n));
    const view: Forward = canonizers.length ? canonize(model, canonizers) : model;
    const composite: Composite | null = c.spec.composite ? compositeFromSpec(c.spec.composite as never) : null;
    const input = need(c, 'input');
    // 'output_times_onehot' seeds depend on the output: as a function they stay differentiable (egl
    // cases), unless the case holds the seed fixed (`egl_seed: "constant"`, the LXT cases): then the stored one.
    const constantSeed = c.spec.egl_seed === 'constant';
    const seed: Seed =
      c.spec.attr_output === 'output_times_onehot' && !constantSeed ? (out: Tensor) => E.mul(out, oneHotSeed(out, c.spec.target)) : need(c, 'attr_output');
    const attributor = c.spec.attributor?.name ?? 'gradient';

    if (attributor === 'gradient') {
      const rec = recordForward(view, input.detach().requireGrad());
      check('output', rec.output);
      const createGraph = !!c.spec.egl;
      const res = rec.attribute(seed, { composite, createGraph, paramRelevance: !!c.spec.param_relevance });
      check('relevance', res.relevance);
      if (c.spec.param_relevance) {
        for (const key of c.tensors.keys()) {
          if (key.startsWith('param_relevance/')) check(key, res.paramRelevance?.get(key.slice('param_relevance/'.length)));
        }
      }
      if (c.spec.egl) {
        const loss = eglLoss(res.relevance, need(c, 'egl/weight'));
        check('egl/loss', loss);
        const named = model.namedParameters();
        const wanted = [...c.tensors.keys()].filter((k) => k.startsWith('grad/'));
        const params = wanted.map((k) => {
          const p = named.find(([n]) => n === k.slice(5));
          if (!p) throw new CaseError(`${path}: '${k}' names no parameter of the model`);
          return p[1];
        });
        const grads = E.grad(loss, params, { allowUnused: true });
        wanted.forEach((k, i) => check(k, grads[i] ?? E.zerosLike(params[i]!)));
      }
    } else if (attributor === 'integrated_gradients') {
      const r = integratedGradients(view, input, { composite, seed, nIter: c.spec.attributor.n_iter ?? 20 });
      check('output', E.noGrad(() => (view as { call(x: Tensor): Tensor }).call(input)));
      check('relevance', r.relevance);
    } else if (attributor === 'occlusion') {
      const r = occlusion(view, input, { window: c.spec.attributor.window ?? 8, stride: c.spec.attributor.stride ?? 8, seed, mode: 'reference' });
      check('output', r.output);
      check('relevance', r.relevance);
    } else {
      throw new CaseError(`unsupported attributor '${attributor}'`);
    }
    if (!checks.length) throw new CaseError('the case holds no expected tensor');
    return { name, file: path, ok: checks.every((k) => k.ok), checks, kind, ms: performance.now() - t0 };
  } catch (e) {
    const reason = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    return { name, file: path, ok: false, checks: [], reason, kind, ms: performance.now() - t0 };
  }
}

export function formatResult(r: CaseResult): string {
  const worst = r.checks.reduce((m, k) => Math.max(m, k.maxErr), 0);
  if (r.ok) return `PASS ${r.name} max_err=${worst.toExponential(2)}`;
  if (r.reason) return `FAIL ${r.name} ${r.reason.replace(/\s+/g, ' ')}`;
  const bad = r.checks.filter((k) => !k.ok);
  return bad.map((k) => `FAIL ${r.name} ${k.tensor} max_err=${k.maxErr.toExponential(2)} allowed=${k.allowed.toExponential(2)}`).join('\n');
}
