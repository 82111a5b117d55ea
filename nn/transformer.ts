/** Leaf layers a transformer needs: LayerNorm (its own kind, so the LRP LayerNorm rule attaches) and exact GELU. */
import { gelu, layerNorm, ones, zeros } from '../engine/index.js';
import { Layer, one, type LayerFn } from './layer.js';
import type { LayerInit } from './layers.js';

/** PyTorch's LayerNorm over the last dim (biased variance, eps inside the square root), weight and bias. */
export class LayerNorm extends Layer {
  readonly kind = 'LayerNorm';
  constructor(
    readonly normalizedShape: number,
    readonly eps = 1e-5,
    o: LayerInit = {},
  ) {
    super();
    const dtype = o.dtype ?? 'float32';
    this.registerParameter('weight', ones([normalizedShape], { dtype }));
    this.registerParameter('bias', zeros([normalizedShape], { dtype }));
  }
  protected functional(): LayerFn {
    const eps = this.eps;
    return (inputs, p) => layerNorm(one(inputs, 'LayerNorm'), p.weight ?? null, p.bias ?? null, eps);
  }
  override info(): Record<string, unknown> {
    return { normalizedShape: this.normalizedShape, eps: this.eps };
  }
  override extraRepr(): string {
    return `(${this.normalizedShape},), eps=${this.eps}`;
  }
}

/** GELU in its exact erf form (PyTorch's `nn.GELU()` default); an activation for the composites. */
export class GELU extends Layer {
  readonly kind = 'Activation';
  protected functional(): LayerFn {
    return (inputs) => gelu(one(inputs, 'GELU'));
  }
}
