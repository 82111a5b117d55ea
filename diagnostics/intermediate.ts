/**
 * Relevance at intermediate layers: what arrives at the output of named layers during one
 * explanation. The layers' outputs are extra targets of the explanation's single `grad` call, so
 * the numbers are those of the full explanation (the engine keeps a target's accumulated gradient;
 * nothing is re-run).
 */
import type { Tensor } from '../engine/index.js';
import * as E from '../engine/index.js';
import type { Composite } from '../composites/index.js';
import type { RecordedForward, Seed } from '../attribution/index.js';
import { findLayers, traceExplanation } from './trace.js';

/**
 * name -> relevance at the OUTPUT of that layer (the relevance the layer's consumers sent back,
 * before the layer's own rule runs). Names are dotted module names, functional-op names
 * (`op:add#0`), or `name@k` for the k-th call of a module that ran several times. A layer the
 * backward does not reach gets zeros.
 */
export function relevanceAt(recorded: RecordedForward, seed: Seed, composite: Composite | null, names: readonly string[]): Map<string, Tensor> {
  const layers = findLayers(recorded.recording, names);
  const trace = traceExplanation(recorded, seed, composite, { at: layers, bias: false });
  const out = new Map<string, Tensor>();
  names.forEach((n, i) => {
    const l = layers[i]!;
    out.set(n, trace.at.get(l) ?? E.zerosLike(l.output.detach()));
  });
  return out;
}
