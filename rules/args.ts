/**
 * Checks of rule and composite arguments. A wrong argument must fail where it is given, naming the
 * owner (`rule AlphaBeta`, `composite epsilon_plus`), the argument, the value and what is allowed:
 * a silently ignored or NaN-producing argument would give a wrong explanation with exit status 0.
 */
import { ArgumentError, safeName } from '../engine/errors.js';
import type { Tensor } from '../engine/index.js';

export class RuleConfigError extends ArgumentError {
  override name = 'RuleConfigError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'ERR_RULE_CONFIG', options);
  }
}

/** A value as it appears in a message: JSON where possible, printable and bounded. */
export function showValue(value: unknown): string {
  let text: string;
  try {
    text = typeof value === 'number' ? String(value) : typeof value === 'bigint' ? `${value}n` : typeof value === 'function' ? 'a function' : value === undefined ? 'undefined' : (JSON.stringify(value) ?? String(value));
  } catch {
    text = Object.prototype.toString.call(value);
  }
  return safeName(text, 80);
}

type Fail = (message: string) => Error;
const ruleFail: Fail = (m) => new RuleConfigError(m);

function bad(owner: string, key: string, value: unknown, allowed: string, fail: Fail): Error {
  return fail(`${owner}: argument '${safeName(key, 60)}' must be ${allowed}, got ${showValue(value)}`);
}

export interface NumberRange {
  min?: number;
  /** The minimum itself is not allowed. */
  exclusive?: boolean;
}

/** A finite number in range, or undefined when absent. */
export function numberArg(owner: string, key: string, value: unknown, range: NumberRange = {}, fail: Fail = ruleFail): number | undefined {
  if (value === undefined) return undefined;
  const { min, exclusive } = range;
  const allowed = `a finite number${min === undefined ? '' : ` ${exclusive ? '>' : '>='} ${min}`}`;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw bad(owner, key, value, allowed, fail);
  if (min !== undefined && (exclusive ? !(value > min) : !(value >= min))) throw bad(owner, key, value, allowed, fail);
  return value;
}

const STABILIZER_KEYS = new Set(['epsilon', 'clip', 'normScale', 'dim', 'signed']);
const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null);

/** A stabilizer: a number >= 0, a function, or `{epsilon, clip, normScale, dim}` options. */
export function stabilizerArg(owner: string, key: string, value: unknown, fail: Fail = ruleFail): void {
  if (value === undefined || typeof value === 'function') return;
  const allowed = 'a finite number >= 0, a function or stabilizer options {epsilon, clip, normScale, dim, signed}';
  if (typeof value === 'number') {
    numberArg(owner, key, value, { min: 0 }, fail);
    return;
  }
  if (!isPlainObject(value)) throw bad(owner, key, value, allowed, fail);
  for (const k of Object.keys(value)) if (!STABILIZER_KEYS.has(k)) throw bad(owner, key, value, `${allowed} (unknown option '${safeName(k, 40)}')`, fail);
  numberArg(owner, `${key}.epsilon`, value.epsilon, { min: 0 }, fail);
  for (const flag of ['clip', 'normScale', 'signed'] as const) {
    if (value[flag] !== undefined && typeof value[flag] !== 'boolean') throw bad(owner, `${key}.${flag}`, value[flag], 'true or false', fail);
  }
  if (value.dim !== undefined && !(Array.isArray(value.dim) && value.dim.every((d) => Number.isInteger(d)))) {
    throw bad(owner, `${key}.dim`, value.dim, 'a list of integer dimensions', fail);
  }
}

/** zero_params: a parameter name or a list of names. */
export function zeroParamsArg(owner: string, value: unknown, fail: Fail = ruleFail): string[] {
  if (value === undefined || value === null) return [];
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.every((s) => typeof s === 'string')) return [...(value as string[])];
  throw bad(owner, 'zero_params', value, "a parameter name or a list of names (e.g. 'bias')", fail);
}

/** A bound of ZBox: a finite number or a tensor. */
export function boundArg(owner: string, key: string, value: unknown, fail: Fail = ruleFail): number | Tensor {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (value !== null && typeof value === 'object' && 'shape' in value && 'data' in value) return value as Tensor;
  throw bad(owner, key, value, 'a finite number or a tensor (required)', fail);
}

/** Rejects keys outside `allowed` (own enumerable keys only; prototype names are just names). */
export function knownKeys(owner: string, given: object, allowed: readonly string[], fail: Fail = ruleFail): void {
  const unknown = Object.keys(given).filter((k) => !allowed.includes(k));
  if (unknown.length) {
    throw fail(`${owner}: unknown argument(s) ${unknown.map((k) => safeName(k, 60)).join(', ')} (accepted: ${allowed.join(', ') || 'none'})`);
  }
}
