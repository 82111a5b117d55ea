/** Counting an op's forward calls in a spec (e.g. how many convolutions a rule ran). */
import type { OpDef } from '../../engine/index.js';

/** Counts the forward calls of `op` while `fn` runs (the op object is shared: patch it, then restore it). */
export function countForwards<T>(op: OpDef<any>, fn: () => T): { result: T; calls: number } {
  const original = op.forward;
  let calls = 0;
  (op as { forward: OpDef<any>['forward'] }).forward = (inputs, attrs) => {
    calls++;
    return original.call(op, inputs, attrs);
  };
  try {
    return { result: fn(), calls };
  } finally {
    (op as { forward: OpDef<any>['forward'] }).forward = original;
  }
}
