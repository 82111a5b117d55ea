/**
 * How the CLI reports problems: every error is ONE line on stderr (the stack only with `--debug`
 * or LRP_TAPE_DEBUG=1) and an exit status by what went wrong (docs/ERRORS.md):
 *   2 usage or configuration (options, composite and rule arguments), 3 bad input data (model,
 *   weights or input file content, shapes), 4 I/O (a file that cannot be read or written),
 *   1 an internal error (a bug) or failed reference cases. "internal error" is only for bugs.
 */
import type { StateDictError } from '../nn/index.js';
import { LrpTapeError, safeName, type ErrorCategory } from '../engine/errors.js';

type CliCategory = Exclude<ErrorCategory, 'internal' | 'shape'>;
const CLI_CODES: Record<CliCategory, string> = { config: 'ERR_USAGE', data: 'ERR_INPUT_DATA', io: 'ERR_IO' };

/** A problem with what the user asked for; its message is shown as is. */
export class CliError extends LrpTapeError {
  override name = 'CliError';
  readonly category: ErrorCategory;
  constructor(message: string, category: CliCategory = 'config', options?: { cause?: unknown }) {
    super(message, CLI_CODES[category], options);
    this.category = category;
  }
}

export const EXIT_OK = 0;
export const EXIT_INTERNAL = 1;
export const EXIT_USAGE = 2;
export const EXIT_BAD_DATA = 3;
export const EXIT_IO = 4;
/** Older name of EXIT_USAGE. */
export const EXIT_BAD_INPUT = EXIT_USAGE;

const EXIT_BY_CATEGORY: Record<ErrorCategory, number> = { config: EXIT_USAGE, data: EXIT_BAD_DATA, shape: EXIT_BAD_DATA, io: EXIT_IO, internal: EXIT_INTERNAL };

const isStateDictError = (e: unknown): e is StateDictError => e instanceof Error && e.name === 'StateDictError' && Array.isArray((e as StateDictError).missingKeys);

const isErrno = (e: unknown): e is NodeJS.ErrnoException =>
  e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string' && typeof (e as NodeJS.ErrnoException).syscall === 'string';

/** What kind of problem `e` is; anything not thrown on purpose is internal. */
export function errorCategory(e: unknown): ErrorCategory {
  if (e instanceof LrpTapeError) return e.category;
  // Node's file-system errors (ENOENT, EACCES, EISDIR, ...).
  if (isErrno(e)) return 'io';
  return 'internal';
}

export function exitStatusFor(e: unknown): number {
  return EXIT_BY_CATEGORY[errorCategory(e)];
}

export function isUserError(e: unknown): boolean {
  return errorCategory(e) !== 'internal';
}

/** Lists at most `max` names, then how many more. */
export function someOf(names: readonly string[], max = 4): string {
  const shown = names.slice(0, max).map((n) => safeName(n, 80));
  return names.length <= max ? shown.join(', ') : `${shown.join(', ')} and ${names.length - max} more`;
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

/** The one line to print for an error, with control characters escaped. */
export function describeError(e: unknown): string {
  if (isStateDictError(e)) return `the weights do not match the model: ${describeStateDictError(e)}`;
  return safeName(oneLine(e instanceof Error ? e.message : String(e)), 2000);
}

/** Prints the error and returns the exit status. */
export function reportError(
  command: string,
  e: unknown,
  stderr: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
  debug = Boolean(process.env.LRP_TAPE_DEBUG),
): number {
  const user = isUserError(e);
  const prefix = `lrp-tape${command ? ` ${command}` : ''}: ${user ? 'error' : 'internal error'}: `;
  stderr(`${prefix}${describeError(e)}${user || debug ? '' : ' (run with --debug for the stack trace)'}`);
  if (debug && e instanceof Error && e.stack) stderr(e.stack);
  return exitStatusFor(e);
}
