/**
 * The single error type for everything this module rejects. Callers (loaders,
 * the CLI) catch exactly this to turn a bad file into a user-facing message, so
 * nothing else may escape for malformed input.
 */
import { DataError, safeName, type ErrorCategory } from '../errors.js';

export class SafetensorsError extends DataError {
  override name = 'SafetensorsError';
  /** File path, or '<buffer>' when parsing bytes that did not come from a file. */
  readonly source: string;
  /** The offending tensor, when the problem is specific to one. */
  readonly tensor: string | undefined;

  /** 'io' when the file could not be read or written, 'data' when its content is bad. */
  override readonly category: ErrorCategory;

  constructor(source: string, problem: string, tensor?: string, options?: { cause?: unknown; io?: boolean }) {
    super(`${safeName(source, 300)}: ${tensor === undefined ? '' : `tensor '${safeName(tensor, 80)}' `}${problem}`, options?.io ? 'ERR_SAFETENSORS_IO' : 'ERR_SAFETENSORS', options);
    this.category = options?.io ? 'io' : 'data';
    this.source = source;
    this.tensor = tensor;
  }
}

export const BUFFER_SOURCE = '<buffer>';

/** Error messages interpolate untrusted values; keep them printable and bounded. */
export function describe(value: unknown): string {
  let text: string;
  try {
    text = typeof value === 'bigint' ? `${value}n` : value === undefined ? 'undefined' : (JSON.stringify(value) ?? String(value));
  } catch {
    text = Object.prototype.toString.call(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
