import type { Tensor, TapeNode, OpDef, LayerRecord, LayerSpec } from './tensor.js';

export type { LayerRecord, LayerSpec } from './tensor.js';

/** How a functional layer re-runs its op on other inputs: autograd's `apply`, handed in with each node. */
export type ApplyOp = (op: OpDef<any>, inputs: readonly Tensor[], attrs: unknown) => Tensor;

/**
 * The layers and nodes of one forward pass, in execution order. Composites, canonizers and
 * diagnostics work on it; the autograd graph itself hangs off the tensors.
 */
export class Recording {
  readonly layers: LayerRecord[] = [];
  readonly nodes: TapeNode[] = [];
  /** Set by `record()`; the value the recorded function returned. */
  outputs: Tensor[] = [];
  private opCounter = new Map<string, number>();

  layerByName(name: string): LayerRecord | undefined {
    return this.layers.find((l) => l.name === name);
  }

  nextOpName(op: string): string {
    const n = this.opCounter.get(op) ?? 0;
    this.opCounter.set(op, n + 1);
    return `op:${op}#${n}`;
  }
}

const active: Recording[] = [];
const scopes: (LayerRecord | 'open')[] = [];
const moduleScopes: string[] = [];

/** Runs a module's forward with its dotted name as the scope of the functional ops it records (diagnostics group by it). */
export function inModuleScope<T>(name: string, fn: () => T): T {
  if (!active.length) return fn();
  moduleScopes.push(name);
  try {
    return fn();
  } finally {
    moduleScopes.pop();
  }
}

export function currentRecording(): Recording | null {
  return active.length ? active[active.length - 1]! : null;
}

/** Records the nodes and layers of `fn`'s forward pass. */
export function record<T>(fn: () => T): { recording: Recording; result: T } {
  const rec = new Recording();
  active.push(rec);
  try {
    const result = fn();
    return { recording: rec, result };
  } finally {
    active.pop();
  }
}

/** Called by `apply` for every recorded node, with itself to re-run a functional op later. */
export function onNodeRecorded(node: TapeNode, rerun: ApplyOp): void {
  const rec = currentRecording();
  if (!rec) return;
  rec.nodes.push(node);
  const scope = scopes.length ? scopes[scopes.length - 1]! : null;
  if (scope === 'open') return;
  if (scope) {
    node.scope = scope;
    return;
  }
  // A functional op outside any leaf module is its own layer, so that rules can attach to `add`, `concat`, ...
  const name = rec.nextOpName(node.op.name);
  const attrs = node.attrs;
  const op = node.op;
  const layer: LayerRecord = {
    index: rec.layers.length,
    kind: `op:${op.name}`,
    type: op.name,
    name,
    inputs: node.inputs,
    output: node.output,
    params: {},
    fn: (inputs) => rerun(op, inputs, attrs),
    // The op's attributes (softmax's axis, matmul's transposes): rules on functional ops read them.
    info: typeof attrs === 'object' && attrs !== null ? (attrs as Record<string, unknown>) : {},
    scope: moduleScopes.length ? moduleScopes[moduleScopes.length - 1]! : '',
  };
  rec.layers.push(layer);
  if (!node.output.layer) node.output.layer = layer;
}

/**
 * Runs a leaf module's forward as one layer: nodes recorded inside belong to it, and its output
 * carries the layer record. Outside a recording it just runs `forward`.
 */
export function runLayer(spec: LayerSpec, forward: () => Tensor): Tensor {
  const rec = currentRecording();
  if (!rec) return forward();
  // The record's output is only known afterwards; nodes inside point to a placeholder filled in below.
  const pending = { ...spec, index: -1, output: null as unknown as Tensor } as LayerRecord & { index: number; output: Tensor };
  scopes.push(pending);
  let out: Tensor;
  try {
    out = forward();
  } finally {
    scopes.pop();
  }
  // An identity layer (Dropout in evaluation, Identity) hands back its input: nothing to attach a rule to.
  if (!out.requiresGrad || spec.inputs.includes(out)) return out;
  pending.index = rec.layers.length;
  pending.output = out;
  rec.layers.push(pending);
  out.layer = pending;
  return out;
}

/** Nodes recorded inside `fn` are not turned into functional layers (used by container modules that are not layers). */
export function withoutOpLayers<T>(fn: () => T): T {
  scopes.push('open');
  try {
    return fn();
  } finally {
    scopes.pop();
  }
}
