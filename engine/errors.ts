/**
 * The library's one error hierarchy. Every error the library throws on purpose is an `LrpTapeError`
 * with a stable `code` (for programs) and a `category` (what the CLI maps to an exit status). This
 * module imports nothing, so every layer (kernels, engine, image, CLI) can use it without cycles.
 *
 *   ArgumentError       bad arguments or configuration (options, composite and rule arguments)
 *   DataError           a bad model, weights, input or reference-case file (its content)
 *   ShapeMismatchError  tensors whose shapes or dtypes do not fit together
 *   FileIoError         a file that cannot be read or written (missing, no permission, unsafe target)
 *   InternalError       a real bug or a broken runtime (never the user's input)
 *
 * docs/ERRORS.md lists the codes and the CLI's exit statuses.
 */

export type ErrorCategory = 'config' | 'data' | 'shape' | 'io' | 'internal';

export abstract class LrpTapeError extends Error {
  /** Stable machine-readable code, e.g. 'ERR_SAFETENSORS'. */
  readonly code: string;
  abstract readonly category: ErrorCategory;

  constructor(message: string, code: string, options?: { cause?: unknown }) {
    // Messages quote names from files; whatever a site forgot, no escape sequence reaches a terminal.
    super(printable(message), options);
    this.code = code;
  }
}

const MAX_MESSAGE = 4000;

/** Escapes control characters other than newline and caps the length of a whole message. */
function printable(message: string): string {
  const escaped = String(message).replace(CONTROL_BUT_NEWLINE, escapeChar);
  return escaped.length > MAX_MESSAGE ? `${escaped.slice(0, MAX_MESSAGE)}... (${escaped.length - MAX_MESSAGE} more characters)` : escaped;
}

export class ArgumentError extends LrpTapeError {
  readonly category: ErrorCategory = 'config';
  override name = 'ArgumentError';
  constructor(message: string, code = 'ERR_ARGUMENT', options?: { cause?: unknown }) {
    super(message, code, options);
  }
}

export class DataError extends LrpTapeError {
  readonly category: ErrorCategory = 'data';
  override name = 'DataError';
  constructor(message: string, code = 'ERR_DATA', options?: { cause?: unknown }) {
    super(message, code, options);
  }
}

export class ShapeMismatchError extends LrpTapeError {
  readonly category: ErrorCategory = 'shape';
  override name = 'ShapeMismatchError';
  constructor(message: string, code = 'ERR_SHAPE', options?: { cause?: unknown }) {
    super(message, code, options);
  }
}

export class FileIoError extends LrpTapeError {
  readonly category: ErrorCategory = 'io';
  override name = 'FileIoError';
  constructor(message: string, code = 'ERR_IO', options?: { cause?: unknown }) {
    super(message, code, options);
  }
}

export class InternalError extends LrpTapeError {
  readonly category: ErrorCategory = 'internal';
  override name = 'InternalError';
  constructor(message: string, code = 'ERR_INTERNAL', options?: { cause?: unknown }) {
    super(message, code, options);
  }
}

export function isLrpTapeError(e: unknown): e is LrpTapeError {
  return e instanceof LrpTapeError;
}

const MAX_NAME = 120;

// C0, DEL, C1 controls and the Unicode line/paragraph separators and bidi overrides.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const CONTROL_BUT_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

function escapeChar(c: string): string {
  const n = c.charCodeAt(0);
  return n < 0x100 ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
}

/**
 * Makes a value that came from a file or the user safe to print inside a message: control
 * characters (terminal escape sequences, newlines) become `\xNN`/`\uNNNN` escapes and the text is
 * cut to `max` characters with the number of characters left off.
 */
export function safeName(value: unknown, max = MAX_NAME): string {
  let text: string;
  try {
    text = typeof value === 'string' ? value : String(value);
  } catch {
    text = Object.prototype.toString.call(value);
  }
  const cut = text.length > max;
  const shown = cut ? text.slice(0, max) : text;
  const escaped = shown.replace(CONTROL, escapeChar);
  return cut ? `${escaped}... (${text.length - max} more characters)` : escaped;
}

/** At most `max` names, each made printable, then how many more: for messages that list names from files. */
export function listNames(names: readonly string[], max = 8): string {
  const shown = names.slice(0, max).map((n) => safeName(n, 80));
  return names.length <= max ? shown.join(', ') : `${shown.join(', ')} and ${names.length - max} more`;
}
