/** Row-major shape arithmetic shared by the kernels and the Tensor class. */
import type { Dims } from './types.js';

export function sizeOf(shape: Dims): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function stridesOf(shape: Dims): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}
