import type { Tensor } from '../engine/index.js';
import { Overrides, withOverrides, type Module } from '../nn/module.js';
import { ArgumentError } from '../engine/errors.js';

export class CanonizerError extends ArgumentError {
  override name = 'CanonizerError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'ERR_CANONIZER', options);
  }
}

/**
 * A canonizer rewrites how a model computes, not the model: it registers per-module overrides
 * that apply only while the canonized view runs. Parameters stay the user's objects, so gradients
 * reach them through the rewritten (recorded) computation.
 */
export interface Canonizer {
  readonly name: string;
  register(model: Module, overrides: Overrides): void;
}

/** The model seen through its canonizers. Calling it records the rewritten graph; the model itself is untouched. */
export class CanonizedModel {
  readonly overrides = new Overrides();
  constructor(
    readonly model: Module,
    readonly canonizers: readonly Canonizer[],
  ) {
    for (const c of canonizers) c.register(model, this.overrides);
  }
  call(x: Tensor): Tensor {
    return withOverrides(this.overrides, () => this.model.call(x));
  }
}

export function canonize(model: Module, canonizers: readonly Canonizer[]): CanonizedModel {
  return new CanonizedModel(model, canonizers);
}

/** Leaves in registration order (zennit's collect_leaves): the order canonizers pair modules in. */
export function collectLeaves(model: Module): Module[] {
  return model.namedModules().map(([, m]) => m).filter((m) => m.children().length === 0);
}
