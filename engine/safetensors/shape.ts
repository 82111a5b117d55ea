import { SafetensorsError, describe } from './errors.js';

/**
 * Validates a shape and returns its element count, saturated to Infinity once it
 * passes Number.MAX_SAFE_INTEGER: callers only compare it with real byte counts,
 * and saturating keeps hostile shapes (thousands of huge dims) O(rank).
 */
export function checkedElementCount(shape: unknown, source: string, tensor: string): number {
  if (!Array.isArray(shape)) throw new SafetensorsError(source, `has shape ${describe(shape)}, expected an array of integers`, tensor);
  let count = 1;
  for (let i = 0; i < shape.length; i++) {
    const dim: unknown = shape[i];
    if (typeof dim !== 'number' || !Number.isSafeInteger(dim) || dim < 0) {
      throw new SafetensorsError(
        source,
        `has shape entry ${describe(dim)} at index ${i}; shape entries must be non-negative integers`,
        tensor,
      );
    }
    count *= dim;
    if (count > Number.MAX_SAFE_INTEGER) count = Infinity;
  }
  // Infinity * 0 is NaN; a zero dim means an empty tensor whatever else the shape says.
  return shape.includes(0) ? 0 : count;
}

export function shapeText(shape: readonly number[]): string {
  // A hostile header can hold a 100,000-dimension shape: show the start and the length.
  return shape.length <= 16 ? `[${shape.join(',')}]` : `[${shape.slice(0, 8).join(',')},... (${shape.length} dimensions)]`;
}
