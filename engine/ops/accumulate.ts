/**
 * Gradient accumulation for a backward that is not recorded (grad.ts): a tensor that gets several
 * contributions sums them in one array the walk allocated, instead of a fresh array per `add`
 * (weight-sized gradients in the double backward of EGL: fresh pages cost more than the adds).
 * Not exported from the barrel: writing in place is only sound on an array nobody else holds.
 * `sumIfShared` is also `add`'s own shortcut, so both agree on when a sum is one of its operands.
 */
import type { Tensor } from '../tensor.js';
import { kernels as K } from '../kernels/dispatch.js';
import { BinaryCode } from '../kernels/types.js';
import { emptyLike, isAllZero } from './util.js';

/**
 * a + b when that is bitwise one of them (same shapes and float dtype): x + (+0) is x for every x
 * but -0, NaN included. `add` shares that operand's storage; a gradient sum with a zero
 * contribution (the negative-part term of ZPlus in a double backward) then costs a scan, not a
 * weight-sized array.
 */
export function sumIfShared(a: Tensor, b: Tensor): Tensor | null {
  if (isAllZero(b) && !K.hasNegativeZero(a.data)) return a;
  if (isAllZero(a) && !K.hasNegativeZero(b.data)) return b;
  return null;
}

/**
 * a + b (same shapes and float dtype) in a fresh array, never sharing an input's storage as `add`
 * may; the same bits as `add`, whose shortcut for an all-zero operand returns what a + 0 gives.
 */
export function freshSum(a: Tensor, b: Tensor): Tensor {
  const out = emptyLike(a);
  K.binary(BinaryCode.Add, a.data, a.shape, b.data, b.shape, out.data, out.shape);
  return out;
}

/** acc += g in place (the same add as `freshSum`): only on an array from `freshSum` that was never handed out. */
export function addInto(acc: Tensor, g: Tensor): void {
  K.binary(BinaryCode.Add, acc.data, acc.shape, g.data, g.shape, acc.data, acc.shape);
}
