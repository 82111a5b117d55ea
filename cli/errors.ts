/**
 * How the CLI reports problems: bad input (files, names, shapes, options) is ONE line on stderr and
 * exit status 2; an unexpected internal error is one line and status 1 (the stack only with
 * LRP_TAPE_DEBUG=1). Never a stack trace for something the user can fix.
 */
import type { StateDictError } from '../nn/index.js';

/** A problem with what the user asked for; its message is shown as is. */
export class CliError extends Error {
  override name = 'CliError';
}

export const EXIT_BAD_INPUT = 2;
export const EXIT_INTERNAL = 1;

/**
 * The library's error classes for rejected input, by name (every one sets `name`), so this module
 * does not load the engine: `--help` and usage errors stay fast.
 */
const USER_ERRORS = new Set([
  'CliError', 'SafetensorsError', 'StateDictError', 'ModelSpecError', 'CompositeConfigError', 'RuleConfigError', 'CanonizerError',
  'ExplainError', 'ImageError', 'PngError', 'ColorMapError', 'ShapeError', 'DTypeError',
]);

const isStateDictError = (e: unknown): e is StateDictError => e instanceof Error && e.name === 'StateDictError' && Array.isArray((e as StateDictError).missingKeys);

export function isUserError(e: unknown): boolean {
  if (e instanceof Error && USER_ERRORS.has(e.name)) return true;
  // Node's file-system errors (ENOENT, EACCES, EISDIR, ...).
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string' && typeof (e as NodeJS.ErrnoException).syscall === 'string';
}

/** Lists at most `max` names, then how many more. */
export function someOf(names: readonly string[], max = 4): string {
  return names.length <= max ? names.join(', ') : `${names.slice(0, max).join(', ')} and ${names.length - max} more`;
}

/** Collapses a message to one line. */
export function oneLine(msg: string): string {
  return msg.replace(/\s*\n\s*/g, '; ').replace(/\s+/g, ' ').trim();
}

/** A state-dict mismatch in one line: missing names, unexpected names, shape mismatches. */
export function describeStateDictError(e: StateDictError): string {
  const parts: string[] = [];
  if (e.missingKeys.length) parts.push(`missing ${e.missingKeys.length} (${someOf(e.missingKeys)})`);
  if (e.unexpectedKeys.length) parts.push(`unexpected ${e.unexpectedKeys.length} (${someOf(e.unexpectedKeys)})`);
  if (e.mismatches.length) parts.push(`shape mismatch ${e.mismatches.length} (${someOf(e.mismatches, 3)})`);
  return parts.join('; ') || oneLine(e.message);
}

/** The one line to print for an error. */
export function describeError(e: unknown): string {
  if (isStateDictError(e)) return `the weights do not match the model: ${describeStateDictError(e)}`;
  return oneLine(e instanceof Error ? e.message : String(e));
}

/** Prints the error and returns the exit status. */
export function reportError(command: string, e: unknown, stderr: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): number {
  const user = isUserError(e);
  const prefix = `lrp-tape ${command}: ${user ? 'error' : 'internal error'}: `;
  stderr(`${prefix}${describeError(e)}${user ? '' : ' (set LRP_TAPE_DEBUG=1 for the stack trace)'}`);
  if (process.env.LRP_TAPE_DEBUG && e instanceof Error && e.stack) stderr(e.stack);
  return user ? EXIT_BAD_INPUT : EXIT_INTERNAL;
}
