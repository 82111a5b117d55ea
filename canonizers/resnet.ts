import * as E from '../engine/index.js';
import { Module } from '../nn/module.js';
import { Sum } from '../nn/parameter-free.js';
import type { Canonizer } from './core.js';
import { sequentialMergeBatchNorm } from './batchnorm.js';

const isResidualBlock = (m: Module): boolean => m.typeName === 'BasicBlock' || m.typeName === 'Bottleneck';

/**
 * The residual `identity + out` of torchvision's blocks becomes an explicit Sum over
 * stack([identity, out], -1), so a rule (Norm in the LRP presets) can split the relevance between
 * the branches. The Sum is named `<block>.canonizer_sum` as in zennit.
 */
export function residualSumCanonizer(): Canonizer {
  return {
    name: 'resnet_residual_sum',
    register(model, ov) {
      for (const [, block] of model.namedModules()) {
        if (!isResidualBlock(block)) continue;
        const sum = Module.attach(new Sum(-1), block, 'canonizer_sum');
        ov.residual.set(block, (identity, out) => sum.call(E.stack([identity, out], -1)));
      }
    },
  };
}

/** zennit's ResNetCanonizer: batch-norm merging plus the explicit residual sum. */
export function resnetCanonizer(): Canonizer {
  const merge = sequentialMergeBatchNorm();
  const residual = residualSumCanonizer();
  return {
    name: 'resnet',
    register(model, ov) {
      merge.register(model, ov);
      residual.register(model, ov);
    },
  };
}
