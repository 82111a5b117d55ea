import { CanonizerError, type Canonizer } from './core.js';
import { safeName } from '../engine/errors.js';
import { sequentialMergeBatchNorm } from './batchnorm.js';
import { resnetCanonizer, residualSumCanonizer } from './resnet.js';

const known: Record<string, { make: () => Canonizer; doc: string }> = {
  sequential_merge_batchnorm: { make: sequentialMergeBatchNorm, doc: 'merge each batch norm into the linear layer right before it' },
  resnet: { make: resnetCanonizer, doc: 'batch-norm merge plus an explicit Sum for every residual addition' },
  resnet_residual_sum: { make: residualSumCanonizer, doc: 'only the explicit residual Sum (no merging)' },
};

export const canonizerNames: readonly string[] = Object.keys(known);

export function describeCanonizers(): { name: string; doc: string }[] {
  return Object.entries(known).map(([name, c]) => ({ name, doc: c.doc }));
}

/** A canonizer by name, or the canonizer itself. */
export function canonizerFrom(c: string | Canonizer): Canonizer {
  if (typeof c !== 'string') return c;
  // Own names only: 'constructor' or 'toString' are not canonizers.
  const k = Object.hasOwn(known, c) ? known[c] : undefined;
  if (!k) throw new CanonizerError(`unknown canonizer '${safeName(c, 60)}' (known: ${canonizerNames.join(', ')})`);
  return k.make();
}

/**
 * The canonizers an architecture needs for LRP to mean what its rules say, by torchvision
 * builder name: ResNets merge batch norms and make residual sums explicit; VGG with batch norm
 * merges them; plain VGG needs none.
 */
export function defaultCanonizers(architecture: string): string[] {
  if (/^resnet\d+$/.test(architecture)) return ['resnet'];
  if (/^vgg\d+_bn$/.test(architecture)) return ['sequential_merge_batchnorm'];
  return [];
}
