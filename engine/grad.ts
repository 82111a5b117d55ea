/**
 * The backward walk: `grad` (torch.autograd.grad) and `backward` (Tensor.backward), with LRP rules
 * swapped in per layer. Gradients are accumulated with the recorded `add`, so a backward with
 * `createGraph` is itself a graph.
 */
import { Tensor, shapeStr, DTypeError, type LayerRecord, type TapeNode } from './tensor.js';
import { withGradMode, AutogradError } from './autograd.js';
import { add } from './ops/elementwise.js';
import { onesLike } from './ops/creation.js';
import { addInto, freshSum, sumIfShared } from './ops/accumulate.js';

/** A backward override for one layer, chosen per grad call (LRP rules). */
export interface LayerBackward {
  (layer: LayerRecord, gradOutput: Tensor): readonly (Tensor | null)[];
}
export type RuleResolver = (layer: LayerRecord) => LayerBackward | null;

export interface GradOptions {
  /** The vector of the vector-Jacobian product, one per output; defaults to ones for one-element outputs. */
  gradOutputs?: Tensor | readonly (Tensor | null)[];
  /** Record the backward so that the result can be differentiated again. */
  createGraph?: boolean;
  /** Keep the graph usable for another backward (defaults to createGraph). */
  retainGraph?: boolean;
  /** Return null for inputs that the outputs do not depend on instead of throwing. */
  allowUnused?: boolean;
  /** Swaps the backward of recorded layers (LRP). Only this grad call uses it. */
  rules?: RuleResolver;
  /** Called after each layer's gradient is final (diagnostics: relevance at every layer). */
  onLayerGrad?: (layer: LayerRecord, gradOutput: Tensor, gradInputs: readonly (Tensor | null)[]) => void;
}

function asList(x: Tensor | readonly Tensor[]): readonly Tensor[] {
  return x instanceof Tensor ? [x] : x;
}

/**
 * Post-order of the nodes reachable from `outputs` (inputs before their consumers). Nodes whose
 * output is older than `minId` cannot depend on a tensor created at `minId` or later (ids grow
 * monotonically), so the walk does not descend into them: a rule's VJP of one layer then never
 * visits the whole network below it.
 */
function topoOrder(outputs: readonly Tensor[], minId = 0): TapeNode[] {
  const order: TapeNode[] = [];
  const visited = new Set<TapeNode>();
  const stack: { node: TapeNode; next: number }[] = [];
  for (const out of outputs) {
    if (!out.node || visited.has(out.node)) continue;
    visited.add(out.node);
    stack.push({ node: out.node, next: 0 });
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      if (top.next < top.node.inputs.length) {
        const child = top.node.inputs[top.next++]!.node;
        if (child && !visited.has(child) && child.output.id >= minId) {
          visited.add(child);
          stack.push({ node: child, next: 0 });
        }
      } else {
        order.push(top.node);
        stack.pop();
      }
    }
  }
  return order;
}

/**
 * The gradients of `outputs` w.r.t. `inputs` (as torch.autograd.grad). Walks only the nodes that
 * lie on a path from an output to a requested input.
 */
export function grad(outputs: Tensor | readonly Tensor[], inputs: Tensor | readonly Tensor[], options: GradOptions = {}): (Tensor | null)[] {
  const outs = asList(outputs);
  const ins = asList(inputs);
  const createGraph = options.createGraph ?? false;
  const retainGraph = options.retainGraph ?? createGraph;
  const seeds = options.gradOutputs instanceof Tensor ? [options.gradOutputs] : options.gradOutputs;
  if (seeds && seeds.length !== outs.length) {
    throw new AutogradError(`grad: ${outs.length} outputs but ${seeds.length} gradOutputs`);
  }
  for (const t of ins) {
    if (!t.requiresGrad) throw new AutogradError(`grad: input tensor ${shapeStr(t.shape)} does not require grad`);
  }

  const order = topoOrder(outs, Math.min(...ins.map((t) => t.id)));
  const targets = new Set<Tensor>(ins);
  // A node matters when one of its inputs is a target or comes from a node that matters.
  const matters = new Set<TapeNode>();
  for (const node of order) {
    if (node.inputs.some((t) => targets.has(t) || (t.node !== null && matters.has(t.node)))) matters.add(node);
  }

  const grads = new Map<Tensor, Tensor>();
  // Tensors whose gradient is a sum this walk allocated and has not handed out yet (to a VJP, a
  // rule, a hook or the caller): when the backward is not recorded, later contributions are added
  // into it in place. A contribution itself is never written: a VJP may return a tensor it holds.
  const owned = new Set<Tensor>();
  const accumulate = (t: Tensor, g: Tensor): void => {
    if (g.shape.length !== t.shape.length || g.shape.some((d, i) => d !== t.shape[i])) {
      throw new AutogradError(`gradient of shape ${shapeStr(g.shape)} for a tensor of shape ${shapeStr(t.shape)}`);
    }
    const prev = grads.get(t);
    if (!prev) grads.set(t, g);
    else if (createGraph || prev.dtype !== g.dtype || g.dtype === 'int32') grads.set(t, add(prev, g));
    else {
      const shared = sumIfShared(prev, g);
      if (shared === g) {
        grads.set(t, g);
        owned.delete(t);
      } else if (shared === null && owned.has(t)) addInto(prev, g);
      else if (shared === null) {
        grads.set(t, freshSum(prev, g));
        owned.add(t);
      }
    }
  };

  withGradMode(createGraph, () => {
    outs.forEach((out, i) => {
      const seed = seeds?.[i] ?? null;
      if (seed === null) {
        if (out.size !== 1) throw new AutogradError(`grad: output ${i} has shape ${shapeStr(out.shape)}; give gradOutputs for non-scalar outputs`);
        accumulate(out, onesLike(out));
      } else {
        if (seed.dtype !== out.dtype) throw new DTypeError(`grad: gradOutputs[${i}] is ${seed.dtype} but the output is ${out.dtype}`);
        accumulate(out, seed);
      }
    });

    for (let k = order.length - 1; k >= 0; k--) {
      const node = order[k]!;
      if (!matters.has(node)) continue;
      const out = node.output;
      const g = grads.get(out);
      if (!g) continue;
      // A sum only this walk holds goes to the VJP to write into, unless the caller gets it back
      // (a target) or a hook sees it after the VJP ran.
      const ownsGrad = owned.delete(out) && !targets.has(out) && !(out.layer && options.onLayerGrad);
      if (node.released) {
        throw new AutogradError(`backward through op '${node.op.name}' a second time: its graph was released; pass retainGraph: true to the first backward`);
      }
      if (!targets.has(out)) grads.delete(out);
      const layer = out.layer;
      const rule = layer && options.rules ? options.rules(layer) : null;
      if (rule && layer) {
        const gIn = rule(layer, g);
        options.onLayerGrad?.(layer, g, gIn);
        layer.inputs.forEach((t, i) => {
          const gi = gIn[i];
          if (gi && (targets.has(t) || (t.node && matters.has(t.node)))) accumulate(t, gi);
        });
        continue;
      }
      const needs = node.inputs.map((t) => targets.has(t) || (t.node !== null && matters.has(t.node)));
      const gIn = node.op.vjp(g, { inputs: node.inputs, output: out, attrs: node.attrs, saved: node.saved, needs, ownsGrad });
      if (layer && options.onLayerGrad) options.onLayerGrad(layer, g, layerInputGradsFromNode(layer, node, gIn));
      node.inputs.forEach((t, i) => {
        const gi = gIn[i];
        if (gi && (targets.has(t) || (t.node && matters.has(t.node)))) accumulate(t, gi);
      });
      if (!retainGraph) node.released = true;
    }
  });

  return ins.map((t, i) => {
    const g = grads.get(t) ?? null;
    if (g === null && !options.allowUnused) {
      throw new AutogradError(`grad: input ${i} (shape ${shapeStr(t.shape)}) is not used by the outputs; pass allowUnused: true to get null`);
    }
    return g;
  });
}

function layerInputGradsFromNode(layer: LayerRecord, node: TapeNode, gIn: readonly (Tensor | null)[]): (Tensor | null)[] {
  return layer.inputs.map((t) => {
    const i = node.inputs.indexOf(t);
    return i >= 0 ? gIn[i] ?? null : null;
  });
}

/** Accumulates d(this)/d(leaf) into `.grad` of every leaf that requires grad (as Tensor.backward in PyTorch). */
export function backward(output: Tensor, options: Omit<GradOptions, 'allowUnused'> = {}): void {
  const leaves: Tensor[] = [];
  const seen = new Set<Tensor>();
  for (const node of topoOrder([output])) {
    for (const t of node.inputs) {
      if (t.node === null && t.requiresGrad && !seen.has(t)) {
        seen.add(t);
        leaves.push(t);
      }
    }
  }
  if (leaves.length === 0) {
    if (!output.requiresGrad) throw new AutogradError('backward: the output does not require grad (was it computed under noGrad, or from inputs that do not require grad?)');
    return;
  }
  const gs = grad(output, leaves, { ...options, allowUnused: true });
  withGradMode(options.createGraph ?? false, () => {
    leaves.forEach((leaf, i) => {
      const g = gs[i];
      if (!g) return;
      leaf.grad = leaf.grad ? add(leaf.grad, g) : g;
    });
  });
}
