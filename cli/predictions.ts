/** `explain`'s class handling: `--target` by index or by name, and the top-k predictions with names. */
import { findClass } from '../models/index.js';
import { CliError } from './errors.js';

/**
 * `--target` as given: an integer index or a class name. Names need the model's label list
 * (`names`); a name matching no class fails with the closest names.
 */
export function resolveTarget(target: string, numClasses: number, names: readonly string[] | undefined): number {
  const t = target.trim();
  if (/^\d+$/.test(t)) {
    const k = Number(t);
    if (k >= numClasses) throw new CliError(`target ${k} is out of range: the model has ${numClasses} outputs (0..${numClasses - 1})`);
    return k;
  }
  if (/^[-+]?\d*\.?\d+(e[-+]?\d+)?$/i.test(t)) throw new CliError(`--target must be a non-negative integer or a class name, got '${target}'`);
  if (!names) throw new CliError(`--target '${target}' is not a class index, and this model's ${numClasses} outputs have no class names; give an index 0..${numClasses - 1}`);
  const hit = findClass(names, t);
  if (hit.index !== null) return hit.index;
  throw new CliError(`--target '${target}' matches no class name; closest: ${hit.closest.map((n) => `'${n}' (${names.indexOf(n)})`).join(', ')}`);
}

/** The `k` largest outputs of one sample with softmax probabilities, as printable lines. */
export function topPredictions(logits: ArrayLike<number>, names: readonly string[] | undefined, k = 5): string[] {
  const n = logits.length;
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, logits[i]!);
  let z = 0;
  for (let i = 0; i < n; i++) z += Math.exp(logits[i]! - max);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => logits[b]! - logits[a]!).slice(0, k);
  const idxWidth = String(n - 1).length;
  const nameWidth = names ? Math.max(...order.map((i) => names[i]!.length)) : 0;
  return order.map((i) => {
    const p = Math.exp(logits[i]! - max) / z;
    const label = names ? `  ${names[i]!.padEnd(nameWidth)}` : '';
    return `  ${String(i).padStart(idxWidth)}${label}  ${(100 * p).toFixed(1).padStart(5)}%  (logit ${logits[i]!.toFixed(3)})`;
  });
}
