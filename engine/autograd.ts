/**
 * Running ops: `apply` computes an op (or takes it from the parameter cache) and records a node
 * when grad mode is on and an input requires grad. The backward walk is in grad.ts, which needs
 * the ops that this module's users define.
 */
import { Tensor, DTypeError, type LayerRecord, type OpDef, type TapeNode } from './tensor.js';
import { onNodeRecorded } from './recording.js';
import { memoSlot, memoStore, memoOutput } from './param-cache.js';
import { ArgumentError } from './errors.js';

export type { OpDef, VjpContext, ForwardResult } from './tensor.js';

let nextNodeId = 1;

export class Node implements TapeNode {
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
    onNodeRecorded(node, apply);
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

export class AutogradError extends ArgumentError {
  override name = 'AutogradError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'ERR_AUTOGRAD', options);
  }
}
