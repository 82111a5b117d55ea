import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import type { Module, Overrides } from '../nn/module.js';
import { Layer } from '../nn/layer.js';
import { CanonizerError, collectLeaves, type Canonizer } from './core.js';

interface BatchNormLike extends Layer {
  weight: Tensor | null;
  bias: Tensor | null;
  runningMean: Tensor;
  runningVar: Tensor;
  eps: number;
  numFeatures: number;
}

const isLinear = (m: Module): m is Layer => m instanceof Layer && (m.kind === 'Convolution' || m.kind === 'Dense');
const isBatchNorm = (m: Module): m is BatchNormLike => m instanceof Layer && m.kind === 'BatchNorm';

/**
 * W' = W * s and b' = (b - mean) * s + beta with s = gamma / sqrt(var + eps), per output channel,
 * as recorded ops of the ORIGINAL parameters: gradients reach the conv weight and bias and the
 * batch norm's weight and bias.
 */
export function mergedParams(linear: Layer, bn: BatchNormLike): { weight: Tensor; bias: Tensor } {
  const w = linear.getParameter('weight')!;
  const b = linear.getParameter('bias');
  let scale = E.div(1, E.sqrt(E.add(bn.runningVar, bn.eps)));
  if (bn.weight) scale = E.mul(scale, bn.weight);
  const shape = [w.shape[0]!, ...Array(w.ndim - 1).fill(1)];
  const weight = E.mul(w, E.reshape(scale, shape));
  let bias = E.mul(b ? E.sub(b, bn.runningMean) : E.neg(bn.runningMean), scale);
  if (bn.bias) bias = E.add(bias, bn.bias);
  return { weight, bias };
}

function registerPair(linear: Layer, bn: BatchNormLike, ov: Overrides): void {
  const w = linear.getParameter('weight')!;
  if (w.shape[0] !== bn.numFeatures) {
    throw new CanonizerError(`cannot merge batch norm '${bn.fullName}' (${bn.numFeatures} features) into '${linear.fullName}' (${w.shape[0]} outputs)`);
  }
  ov.forward.set(linear, (inputs) => {
    if (bn.training) throw new CanonizerError(`batch-norm merging needs evaluation mode: '${bn.fullName}' is training (call model.eval())`);
    // The merge is arithmetic on parameters, not a layer: its ops must not become `op:*` layers.
    return linear.forwardWith(inputs, E.withoutOpLayers(() => mergedParams(linear, bn)));
  });
  // The merged batch norm is the identity; it records no layer (zennit leaves an identity BN mapped to Pass).
  ov.forward.set(bn, (inputs) => inputs[0]!);
}

/** Merges every batch norm that directly follows a linear layer among the leaves in registration order (zennit's SequentialMergeBatchNorm). */
export function sequentialMergeBatchNorm(): Canonizer {
  return {
    name: 'sequential_merge_batchnorm',
    register(model, ov) {
      let last: Module | null = null;
      for (const leaf of collectLeaves(model)) {
        if (last && isLinear(last) && isBatchNorm(leaf) && last.getParameter('weight')!.shape[0] === leaf.numFeatures) registerPair(last, leaf, ov);
        last = leaf;
      }
    },
  };
}

/** Merges explicitly named [linear, batch norm] pairs (dotted names). */
export function namedMergeBatchNorm(pairs: readonly (readonly [string, string])[]): Canonizer {
  return {
    name: 'named_merge_batchnorm',
    register(model, ov) {
      const byName = new Map(model.namedModules());
      for (const [ln, bn] of pairs) {
        const l = byName.get(ln);
        const b = byName.get(bn);
        if (!l || !isLinear(l)) throw new CanonizerError(`named_merge_batchnorm: '${ln}' is not a Linear/Conv2d layer of the model`);
        if (!b || !isBatchNorm(b)) throw new CanonizerError(`named_merge_batchnorm: '${bn}' is not a batch-norm layer of the model`);
        registerPair(l, b, ov);
      }
    },
  };
}
