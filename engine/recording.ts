import type { Tensor } from './tensor.js';
import type { Node } from './autograd.js';

/**
 * What a rule needs to know about one recorded layer: its kind (for layer-type maps), its dotted
 * name (for name maps), the tensors that went in and came out, the parameters the forward used
 * (possibly rewritten by a canonizer, still connected to the original parameters), and a pure
 * function that re-runs the layer on other inputs and parameters with recorded ops.
 */
export interface LayerRecord {
  /** Position in execution order within its recording (0-based). */
  readonly index: number;
  /** Layer kind: 'Convolution' | 'Dense' | 'Activation' | 'BatchNorm' | 'AvgPool' | 'MaxPool' | 'Sum' | ... or 'op:<name>' for functional ops. */
  readonly kind: string;
  /** The module's class name ('Conv2d', 'ReLU', ...) or the op's name. */
  readonly type: string;
  /** Dotted name of the module in the model ('' for the root, 'op:add#3' style names for functional ops). */
  readonly name: string;
  readonly inputs: readonly Tensor[];
  readonly output: Tensor;
  readonly params: Readonly<Record<string, Tensor | null>>;
  /** Re-runs the layer with other inputs and parameters (recorded like any forward). */
  readonly fn: (inputs: readonly Tensor[], params: Readonly<Record<string, Tensor | null>>) => Tensor;
  /** The module object, when the layer is a module. */
  readonly module?: unknown;
  /** Free-form facts for diagnostics (e.g. the module's hyper-parameters). */
  readonly info?: Readonly<Record<string, unknown>>;
  /** For a functional op: the dotted name of the module whose forward ran it ('blocks.0.attn'), '' at the root. */
  readonly scope?: string;
}

export type LayerSpec = Omit<LayerRecord, 'index' | 'output'>;

/**
 * The layers and nodes of one forward pass, in execution order. Composites, canonizers and
 * diagnostics work on it; the autograd graph itself hangs off the tensors.
 */
export class Recording {
  readonly layers: LayerRecord[] = [];
  readonly nodes: Node[] = [];
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

/** Called by `apply` for every recorded node. */
export function onNodeRecorded(node: Node): void {
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
    fn: (inputs) => applyOpLater(op, inputs, attrs),
    // The op's attributes (softmax's axis, matmul's transposes): rules on functional ops read them.
    info: typeof attrs === 'object' && attrs !== null ? (attrs as Record<string, unknown>) : {},
    scope: moduleScopes.length ? moduleScopes[moduleScopes.length - 1]! : '',
  };
  rec.layers.push(layer);
  if (!node.output.layer) node.output.layer = layer;
}

let applyOpLater: (op: Node['op'], inputs: readonly Tensor[], attrs: unknown) => Tensor = () => {
  throw new Error('engine not initialised');
};
export function registerApply(fn: typeof applyOpLater): void {
  applyOpLater = fn;
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
