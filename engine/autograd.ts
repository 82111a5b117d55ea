import { Tensor, shapeStr, DTypeError } from './tensor.js';
import { onNodeRecorded, type LayerRecord } from './recording.js';
import { memoSlot, memoStore, memoOutput } from './param-cache.js';
import { ArgumentError } from './errors.js';

/** The context a VJP sees: the real tensors of the forward (never clones) and the op's attributes. */
export interface VjpContext<A> {
  readonly inputs: readonly Tensor[];
  readonly output: Tensor;
  readonly attrs: A;
  readonly saved: unknown;
  /** Which inputs this backward needs a gradient for (PyTorch's needs_input_grad): skip the others. */
  readonly needs: readonly boolean[];
}

export interface ForwardResult {
  output: Tensor;
  /** Extra state the VJP needs that is not a differentiable input (e.g. max-pool indices). */
  saved?: unknown;
}

/**
 * A primitive op. `vjp` must be written with public, recorded ops only: when the backward runs
 * with `createGraph`, the VJP is itself recorded, which is what gives exact higher derivatives.
 */
export interface OpDef<A = unknown> {
  readonly name: string;
  forward(inputs: readonly Tensor[], attrs: A): Tensor | ForwardResult;
  vjp(grad: Tensor, ctx: VjpContext<A>): readonly (Tensor | null)[];
}

let nextNodeId = 1;

export class Node {
  readonly id = nextNodeId++;
  released = false;
  /** The layer record whose module forward was running when this node was recorded (internal nodes of a layer). */
  scope: LayerRecord | null = null;
  constructor(
    readonly op: OpDef<any>,
    readonly inputs: readonly Tensor[],
    readonly attrs: unknown,
    readonly output: Tensor,
    readonly saved: unknown,
  ) {}
}

let gradEnabled = true;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs `fn` without recording. */
export function noGrad<T>(fn: () => T): T {
  return withGradMode(false, fn);
}

export function withGradMode<T>(enabled: boolean, fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = enabled;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Runs an op: computes it and, when grad mode is on and an input requires grad, records it. */
export function apply<A>(op: OpDef<A>, inputs: readonly Tensor[], attrs: A): Tensor {
  // Values derived only from parameters come from the parameter cache (param-cache.ts) when computed before.
  const slot = memoSlot(op.name, inputs, attrs);
  let output: Tensor;
  let saved: unknown;
  if (slot?.hit) {
    output = memoOutput(slot.hit);
    saved = slot.hit.saved;
  } else {
    const res = op.forward(inputs, attrs);
    output = res instanceof Tensor ? res : res.output;
    saved = res instanceof Tensor ? undefined : res.saved;
    if (slot) memoStore(slot, output, saved);
  }
  if (gradEnabled && inputs.some((t) => t.requiresGrad)) {
    const node = new Node(op, inputs, attrs, output, saved);
    output.node = node;
    output.requiresGrad = true;
    onNodeRecorded(node);
  }
  return output;
}

/** Float ops refuse to mix float32 and float64: silent promotion would hide precision bugs in reference work. */
export function sameFloatDType(opName: string, tensors: readonly Tensor[]): void {
  const d = tensors[0]!.dtype;
  for (const t of tensors) {
    if (t.dtype !== d) {
      throw new DTypeError(`${opName}: dtypes differ (${tensors.map((x) => x.dtype).join(' vs ')}); convert with .to('${d}') first`);
    }
  }
}

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

export class AutogradError extends ArgumentError {
  override name = 'AutogradError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'ERR_AUTOGRAD', options);
  }
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
function topoOrder(outputs: readonly Tensor[], minId = 0): Node[] {
  const order: Node[] = [];
  const visited = new Set<Node>();
  const stack: { node: Node; next: number }[] = [];
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

/** Adds without recording unless the backward itself is being recorded. */
let addForAccumulation: (a: Tensor, b: Tensor) => Tensor = () => {
  throw new AutogradError('engine not initialised: import the engine barrel');
};
let onesLike: (t: Tensor) => Tensor = addForAccumulation as never;
export function registerAutogradHelpers(add: (a: Tensor, b: Tensor) => Tensor, ones: (t: Tensor) => Tensor): void {
  addForAccumulation = add;
  onesLike = ones;
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
  const matters = new Set<Node>();
  for (const node of order) {
    if (node.inputs.some((t) => targets.has(t) || (t.node !== null && matters.has(t.node)))) matters.add(node);
  }

  const grads = new Map<Tensor, Tensor>();
  const accumulate = (t: Tensor, g: Tensor): void => {
    if (g.shape.length !== t.shape.length || g.shape.some((d, i) => d !== t.shape[i])) {
      throw new AutogradError(`gradient of shape ${shapeStr(g.shape)} for a tensor of shape ${shapeStr(t.shape)}`);
    }
    const prev = grads.get(t);
    grads.set(t, prev ? addForAccumulation(prev, g) : g);
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
      const gIn = node.op.vjp(g, { inputs: node.inputs, output: out, attrs: node.attrs, saved: node.saved, needs });
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

function layerInputGradsFromNode(layer: LayerRecord, node: Node, gIn: readonly (Tensor | null)[]): (Tensor | null)[] {
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
      leaf.grad = leaf.grad ? addForAccumulation(leaf.grad, g) : g;
    });
  });
}
