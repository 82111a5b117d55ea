/**
 * PyTorch-shaped modules: ordered, named parameters, buffers and children with PyTorch's dotted
 * names, train/eval, state dicts, and `call()` as the one way to invoke a module.
 *
 * Tensors are immutable for autograd safety, so a module never writes into a parameter: loading
 * a state dict or converting the dtype replaces the parameter by a new leaf tensor under the same
 * name (the module object stays the same). The one sanctioned in-place write is the optimizer's
 * update (nn/optim.ts), done outside any recording.
 */
import { Tensor, DTypeError, noGrad, cast, currentRecording, inModuleScope, markModelState, type DType } from '../engine/index.js';
import { StateDictError, planLoad, type LoadResult, type StateDictLike } from './statedict.js';

/** A parameter is a plain leaf tensor with `requiresGrad` true. */
export type Parameter = Tensor;

/** What a view puts in place of a module's forward: gets the inputs and the module's own forward. */
export type ForwardOverride = (inputs: Tensor[], original: (...inputs: Tensor[]) => Tensor, module: Module) => Tensor;

/** What a view puts in place of a residual block's `identity + out` (see models/resnet.ts). */
export type ResidualOverride = (identity: Tensor, out: Tensor, block: Module) => Tensor;

/**
 * Per-module replacements that apply only inside `withOverrides(overrides, fn)`. This is how a
 * canonizer builds a rewritten VIEW of a model without mutating it: it runs the user's model with
 * some modules' forward (or a block's residual step) swapped for the duration of one call.
 */
export class Overrides {
  readonly forward = new Map<Module, ForwardOverride>();
  readonly residual = new Map<Module, ResidualOverride>();
}

const overrideStack: Overrides[] = [];

/** Runs `fn` with `overrides` active (nested scopes: the innermost entry for a module wins). */
export function withOverrides<T>(overrides: Overrides, fn: () => T): T {
  overrideStack.push(overrides);
  try {
    return fn();
  } finally {
    overrideStack.pop();
  }
}

function findOverride<V>(pick: (o: Overrides) => Map<Module, V>, m: Module): V | undefined {
  for (let i = overrideStack.length - 1; i >= 0; i--) {
    const v = pick(overrideStack[i]!).get(m);
    if (v) return v;
  }
  return undefined;
}

/** The residual override active for `block`, if any (called by residual blocks). */
export function activeResidualOverride(block: Module): ResidualOverride | undefined {
  return overrideStack.length ? findOverride((o) => o.residual, block) : undefined;
}

const NAME_RE = /^[^.]+$/;

export abstract class Module {
  /** Training mode (batch statistics, dropout). Set recursively with `train()` / `eval()`. */
  training = true;
  private readonly _parameters = new Map<string, Tensor | null>();
  private readonly _buffers = new Map<string, Tensor | null>();
  private readonly _modules = new Map<string, Module | null>();
  private _parent: Module | null = null;
  private _nameInParent = '';

  /** The module's computation. Invoke modules with `call()`, which honours view overrides. */
  abstract forward(...inputs: Tensor[]): Tensor;

  call(...inputs: Tensor[]): Tensor {
    const ov = overrideStack.length ? findOverride((o) => o.forward, this) : undefined;
    if (ov) return ov(inputs, (...xs) => this.forward(...xs), this);
    return currentRecording() ? inModuleScope(this.fullName, () => this.forward(...inputs)) : this.forward(...inputs);
  }

  /** Class name, as PyTorch's `type(m).__name__`. */
  get typeName(): string {
    return this.constructor.name;
  }

  /** Dotted name from the root of the parent chain ('' for the root), e.g. `layer1.0.conv1`. */
  get fullName(): string {
    const parts: string[] = [];
    let m: Module | null = this;
    while (m && m._parent) {
      parts.push(m._nameInParent);
      m = m._parent;
    }
    return parts.reverse().join('.');
  }

  get parent(): Module | null {
    return this._parent;
  }

  /**
   * Gives `child` the dotted name `parent.fullName + '.' + name` WITHOUT registering it: the
   * parent's children, parameters and state dict are unchanged. For modules a view adds (e.g. the
   * `Sum` a ResNet canonizer puts into each block, named `layer1.0.canonizer_sum` as zennit does).
   */
  static attach<M extends Module>(child: M, parent: Module, name: string): M {
    child._parent = parent;
    child._nameInParent = name;
    return child;
  }

  // ---- registration ------------------------------------------------------------------------

  private checkName(name: string, kind: string): void {
    if (!NAME_RE.test(name)) throw new Error(`${this.typeName}: ${kind} name '${name}' must be non-empty and contain no '.'`);
    const taken = (this._parameters.has(name) && kind !== 'parameter') || (this._buffers.has(name) && kind !== 'buffer') || (this._modules.has(name) && kind !== 'module');
    if (taken) throw new Error(`${this.typeName}: '${name}' is already registered as another kind of attribute`);
  }

  /** Registers (or replaces) a parameter; it becomes a leaf that requires grad. `null` keeps the slot empty (e.g. no bias). */
  registerParameter(name: string, t: Tensor | null): Tensor | null {
    this.checkName(name, 'parameter');
    if (t) {
      if (!t.isLeaf) throw new Error(`${this.typeName}: parameter '${name}' must be a leaf tensor (detach() it first)`);
      if (t.dtype === 'int32') throw new DTypeError(`${this.typeName}: parameter '${name}' must be a float tensor`);
    }
    this.hold('parameter', name, t);
    return t;
  }

  registerBuffer(name: string, t: Tensor | null): Tensor | null {
    this.checkName(name, 'buffer');
    this.hold('buffer', name, t);
    return t;
  }

  registerModule<M extends Module | null>(name: string, m: M): M {
    this.checkName(name, 'module');
    if (m === (this as Module)) throw new Error(`${this.typeName}: a module cannot be its own child`);
    // A module shared by two parents keeps the name of its first parent (PyTorch deduplicates it too).
    if (m && !m._parent) {
      m._parent = this;
      m._nameInParent = name;
    }
    this._modules.set(name, m);
    return m;
  }

  /** A parameter of this module by local name (null when registered empty). */
  getParameter(name: string): Tensor | null {
    if (!this._parameters.has(name)) throw new Error(`${this.typeName} '${this.fullName}' has no parameter '${name}'`);
    return this._parameters.get(name)!;
  }

  /** This module's own parameter slots, empty ones (e.g. `bias` of a layer without bias) as null. */
  parameterSlots(): [string, Tensor | null][] {
    return [...this._parameters];
  }

  getBuffer(name: string): Tensor | null {
    if (!this._buffers.has(name)) throw new Error(`${this.typeName} '${this.fullName}' has no buffer '${name}'`);
    return this._buffers.get(name)!;
  }

  /** Replaces a registered buffer (modules update running statistics this way). */
  protected setBuffer(name: string, t: Tensor): void {
    if (!this._buffers.has(name)) throw new Error(`${this.typeName} has no buffer '${name}'`);
    this.hold('buffer', name, t);
  }

  /**
   * Puts a tensor into a parameter or buffer slot. What a module holds is model state (it outlives
   * an explanation and only an optimizer writes into it), which the engine is told here, once.
   */
  private hold(kind: 'parameter' | 'buffer', name: string, t: Tensor | null): void {
    if (t) {
      if (kind === 'parameter') t.requiresGrad = true;
      markModelState(t);
    }
    (kind === 'parameter' ? this._parameters : this._buffers).set(name, t);
  }

  getModule(name: string): Module | null {
    if (!this._modules.has(name)) throw new Error(`${this.typeName} '${this.fullName}' has no child '${name}'`);
    return this._modules.get(name)!;
  }

  // ---- traversal (PyTorch order: own entries first, then children depth-first) ---------------

  /** Direct children (skipping empty slots), as `named_children`. */
  *namedChildren(): Generator<[string, Module]> {
    const seen = new Set<Module>();
    for (const [n, m] of this._modules) {
      if (m && !seen.has(m)) {
        seen.add(m);
        yield [n, m];
      }
    }
  }

  children(): Module[] {
    return [...this.namedChildren()].map(([, m]) => m);
  }

  /** Every module in the tree, the root first as '' (each module once, as PyTorch). */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [];
    const seen = new Set<Module>();
    const walk = (m: Module, p: string): void => {
      if (seen.has(m)) return;
      seen.add(m);
      out.push([p, m]);
      for (const [n, c] of m._modules) if (c) walk(c, p ? `${p}.${n}` : n);
    };
    walk(this, prefix);
    return out;
  }

  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }

  private namedEntries(which: '_parameters' | '_buffers', recurse: boolean, dedupe: boolean): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const seen = new Set<Tensor>();
    const mods: [string, Module][] = recurse ? this.namedModules() : [['', this]];
    for (const [p, m] of mods) {
      for (const [n, t] of m[which]) {
        if (!t || (dedupe && seen.has(t))) continue;
        seen.add(t);
        out.push([p ? `${p}.${n}` : n, t]);
      }
    }
    return out;
  }

  /** `named_parameters()`: dotted names in PyTorch order, each tensor once. */
  namedParameters(recurse = true): [string, Tensor][] {
    return this.namedEntries('_parameters', recurse, true);
  }

  parameters(recurse = true): Tensor[] {
    return this.namedParameters(recurse).map(([, t]) => t);
  }

  namedBuffers(recurse = true): [string, Tensor][] {
    return this.namedEntries('_buffers', recurse, true);
  }

  buffers(recurse = true): Tensor[] {
    return this.namedBuffers(recurse).map(([, t]) => t);
  }

  /** Parameters and buffers, per module: own parameters, own buffers, then children (PyTorch's `state_dict` order). */
  stateDict(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    const walk = (m: Module, p: string): void => {
      for (const [n, t] of m._parameters) if (t) out.set(p + n, t);
      for (const [n, t] of m._buffers) if (t) out.set(p + n, t);
      for (const [n, c] of m._modules) if (c) walk(c, `${p}${n}.`);
    };
    walk(this, '');
    return out;
  }

  // ---- modes ---------------------------------------------------------------------------------

  /** Sets training mode on this module and every descendant. */
  train(flag = true): this {
    for (const m of this.modules()) m.training = flag;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Sets `requiresGrad` on every parameter (false freezes the model, e.g. to attribute the input only). */
  requireGrad(flag = true): this {
    for (const p of this.parameters()) p.requiresGrad = flag;
    return this;
  }

  /** Clears `.grad` of every parameter. */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  // ---- loading and conversion ------------------------------------------------------------------

  /**
   * Loads parameters and buffers by dotted name. Every loaded value is copied into a NEW leaf
   * tensor of the module's current dtype (float64 values loaded into a float32 model are rounded),
   * which replaces the old one under the same name; parameters keep `requiresGrad`.
   *
   * All problems are collected first and nothing is changed when there is one: `StateDictError`
   * lists every missing key, every unexpected key (both only when `strict`) and every shape
   * mismatch (always, as PyTorch). As PyTorch does for state dicts without version metadata, a
   * missing batch-norm `num_batches_tracked` is not an error (the buffer keeps its value).
   *
   * `assign: true` (PyTorch's `assign=True`) skips the copy for values already of the slot's dtype:
   * the new leaf shares the dict tensor's storage, so use it for a dict nobody else holds (a file
   * just read). `loadStateDictFile` in `lrp-tape/node` does this.
   */
  loadStateDict(dict: StateDictLike, opts: { strict?: boolean; assign?: boolean } = {}): LoadResult {
    if (currentRecording()) throw new StateDictError('loadStateDict: not allowed while a forward is being recorded');
    const plan = planLoad(this.stateDictSlots(), dict, opts.strict ?? true, opts.assign === true);
    for (const { module, local, kind, value } of plan.assignments) module.hold(kind, local, value);
    return plan.result;
  }

  /** Every registered, non-empty parameter/buffer slot with its owner (for loading). */
  private stateDictSlots(): { name: string; module: Module; local: string; kind: 'parameter' | 'buffer'; current: Tensor }[] {
    const out: { name: string; module: Module; local: string; kind: 'parameter' | 'buffer'; current: Tensor }[] = [];
    const walk = (m: Module, p: string): void => {
      for (const [n, t] of m._parameters) if (t) out.push({ name: p + n, module: m, local: n, kind: 'parameter', current: t });
      for (const [n, t] of m._buffers) if (t) out.push({ name: p + n, module: m, local: n, kind: 'buffer', current: t });
      for (const [n, c] of m._modules) if (c) walk(c, `${p}${n}.`);
    };
    walk(this, '');
    return out;
  }

  /**
   * Converts every float parameter and buffer to `dtype`, replacing each by a new leaf tensor
   * (parameters keep `requiresGrad`, gradients are dropped). Integer buffers such as
   * `num_batches_tracked` are left alone. Returns this module. Optimizers built on the module
   * (`new SGD(model, ...)`) follow the replacement; ones built on a parameter list do not.
   */
  to(dtype: 'float32' | 'float64'): this {
    if (currentRecording()) throw new Error('Module.to: not allowed while a forward is being recorded');
    for (const m of this.modules()) {
      for (const map of [m._parameters, m._buffers]) {
        for (const [n, t] of map) {
          if (!t || t.dtype === 'int32' || t.dtype === dtype) continue;
          const c = noGrad(() => cast(t.detach(), dtype));
          m.hold(map === m._parameters ? 'parameter' : 'buffer', n, new Tensor(c.data, c.shape));
        }
      }
    }
    return this;
  }

  /** The dtype of the first float parameter or buffer (float32 for modules without any). */
  get dtype(): DType {
    for (const [, t] of this.stateDict()) if (t.dtype !== 'int32') return t.dtype;
    return 'float32';
  }

  /** A short tree description, as PyTorch's repr. */
  toString(): string {
    const kids = [...this.namedChildren()];
    const head = `${this.typeName}(${this.extraRepr()}`;
    if (!kids.length) return `${head})`;
    const body = kids.map(([n, m]) => `  (${n}): ${m.toString().replace(/\n/g, '\n  ')}`).join('\n');
    return `${head}\n${body}\n)`;
  }

  /** Hyper-parameters shown by toString. */
  extraRepr(): string {
    return '';
  }
}
