/** Containers are not layers: they call their children, whose own layers get recorded. */
import type { Tensor } from '../engine/index.js';
import { Module } from './module.js';

/**
 * Children '0', '1', ... (`new Sequential(a, b)`) or named (`Sequential.named([['conv', a], ...])`);
 * the output of each child is the input of the next.
 */
export class Sequential extends Module {
  constructor(...modules: Module[]) {
    super();
    modules.forEach((m, i) => this.registerModule(String(i), m));
  }

  static named(entries: Iterable<readonly [string, Module]>): Sequential {
    const s = new Sequential();
    for (const [n, m] of entries) s.registerModule(n, m);
    return s;
  }

  get length(): number {
    return this.children().length;
  }

  /** The i-th child in order (negative counts from the end). */
  at(i: number): Module {
    const kids = this.children();
    const m = kids[i < 0 ? kids.length + i : i];
    if (!m) throw new RangeError(`Sequential: index ${i} out of range for ${kids.length} children`);
    return m;
  }

  /** Appends a child named by its position. */
  append(m: Module): this {
    this.registerModule(String(this.length), m);
    return this;
  }

  [Symbol.iterator](): Iterator<Module> {
    return this.children()[Symbol.iterator]();
  }

  override forward(...inputs: Tensor[]): Tensor {
    const kids = this.children();
    if (!kids.length) {
      if (inputs.length !== 1) throw new Error('empty Sequential: expected 1 input');
      return inputs[0]!;
    }
    let out = kids[0]!.call(...inputs);
    for (let i = 1; i < kids.length; i++) out = kids[i]!.call(out);
    return out;
  }
}
