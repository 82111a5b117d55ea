/**
 * Leaf layers: modules whose forward is ONE recorded layer (engine `runLayer`), so that composites
 * can attach LRP rules to them by kind ('Convolution', 'Dense', ...), type (class name) or dotted name.
 */
import { Tensor, runLayer, type LayerSpec } from '../engine/index.js';
import { Module } from './module.js';

export type LayerParams = Readonly<Record<string, Tensor | null>>;

/**
 * The layer's pure functional form: engine ops on the given inputs and parameters only (it may
 * close over constants of this one call, such as batch-norm running statistics or a dropout mask).
 * LRP rules re-run it with modified inputs and parameters.
 */
export type LayerFn = (inputs: readonly Tensor[], params: LayerParams) => Tensor;

export abstract class Layer extends Module {
  /** The layer kind rules are mapped by ('Convolution', 'Dense', 'Activation', 'BatchNorm', ...). */
  abstract readonly kind: string;

  /** The functional form for the current call (mode, running statistics, masks are fixed here). */
  protected abstract functional(): LayerFn;

  /** Hyper-parameters for diagnostics and canonizers (`LayerRecord.info`). */
  info(): Record<string, unknown> {
    return {};
  }

  /** The parameter tensors the forward uses: `{weight, bias}` when the layer has them. */
  layerParams(): Record<string, Tensor | null> {
    return Object.fromEntries(this.parameterSlots());
  }

  override forward(...inputs: Tensor[]): Tensor {
    return this.forwardWith(inputs, this.layerParams());
  }

  /**
   * Runs the layer as one recorded layer with the given parameters (a canonizer passes rewritten
   * ones, e.g. batch norm merged into a convolution's weight and bias: recorded ops of the originals).
   * `run` computes the actual output when it has side effects `fn` must not have (batch norm's
   * running-statistics update in training mode); it defaults to `fn(inputs, params)`.
   */
  forwardWith(inputs: readonly Tensor[], params: LayerParams, fn: LayerFn = this.functional(), run?: () => Tensor): Tensor {
    const spec: LayerSpec = {
      kind: this.kind,
      type: this.typeName,
      name: this.fullName,
      inputs: [...inputs],
      params,
      fn,
      module: this,
      info: this.info(),
    };
    return runLayer(spec, run ?? (() => fn(inputs, params)));
  }
}

export function one(inputs: readonly Tensor[], who: string): Tensor {
  if (inputs.length !== 1) throw new Error(`${who}: expected 1 input, got ${inputs.length}`);
  return inputs[0]!;
}
