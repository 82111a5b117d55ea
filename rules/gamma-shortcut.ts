/**
 * Gamma's cheaper route for an ordinary explanation (nothing recorded, no parameter relevance) of a
 * convolution or dense layer whose input has no negative part, which is every such layer after a
 * ReLU. zennit's four terms are then two (the negative-input ones vanish):
 *   z+ = f(x, Wa) + ba   with Wa = W + gamma W+, ba = b + gamma b+
 *   z- = f(x, Wb) + bb   with Wb = W + gamma W-, bb = b + gamma b-
 * and R = x (Wa^T g+ + Wb^T g-), where g+ and g- are the stabilised relevance ratios on the outputs
 * where the layer's output y is positive, respectively negative. The layer is linear in its
 * parameters and Wa + Wb = (2 + gamma) W, ba + bb = (2 + gamma) b, so
 *   z- = (2 + gamma) y - z+                      (no second forward convolution), and
 *   R  = x (Wa^T (g+ - g-) + (2 + gamma) W^T g-),
 * whose second VJP is the layer's own recorded one (one walk sums both). One forward convolution
 * of the rule's three goes; the values equal the template's up to rounding
 * (spec/rules/gamma-shortcut.spec.ts compares them with the recorded template, which never takes
 * this route).
 */
import * as E from '../engine/index.js';
import type { LayerRecord, Tensor } from '../engine/index.js';
import type { ParamModifier } from './core.js';
import { applyParamModifier } from './basic-rule.js';

/**
 * The layers whose forward is f(x, W) + b with f linear in W, by kind and class name: Conv2d and
 * Linear, also when a canonizer merged batch norm into them. A subclass or another layer of these
 * kinds may compute something else, so it runs the template.
 */
const WEIGHT_LINEAR: ReadonlyMap<string, string> = new Map([['Convolution', 'Conv2d'], ['Dense', 'Linear']]);

export interface GammaShortcutSpec {
  readonly gamma: number;
  readonly zeroParams: readonly string[];
  /** Term 0's modifier, W + gamma W+ (and the same of the bias). */
  readonly positive: ParamModifier;
  /** The seeds of the positive and the negative pair of terms, from their summed outputs. */
  readonly mapper: (relevance: Tensor, zPositive: Tensor, zNegative: Tensor, layer: LayerRecord) => readonly [Tensor, Tensor];
}

/** The shortcut for `BasicRuleSpec.shortcut`: the relevance, or null where it does not apply. */
export function gammaShortcut(spec: GammaShortcutSpec): (layer: LayerRecord, relevance: Tensor) => (Tensor | null)[] | null {
  const scale = 2 + spec.gamma;
  return (layer, relevance) => {
    if (WEIGHT_LINEAR.get(layer.kind) !== layer.type || layer.inputs.length !== 1) return null;
    const { weight, bias, ...others } = layer.params;
    if (!weight || Object.keys(others).length > 0) return null;
    // Zeroed parameters break the sums above (a zeroed bias would need y - b).
    if (spec.zeroParams.includes('weight') || (bias && spec.zeroParams.includes('bias'))) return null;
    const x = layer.inputs[0]!;
    if (!x.requiresGrad) return null;
    if (!E.isAllZero(E.clamp(x.detach(), null, 0))) return null;

    // With no negative part, x is its own positive part (clamp(x, 0) is x bit for bit), so the term
    // runs on x itself and one walk sums both VJPs into one array.
    const base: Record<string, Tensor | null> = {};
    for (const [k, p] of Object.entries(layer.params)) base[k] = p === null ? null : p.detach();
    const zPos = layer.fn([x], applyParamModifier(base, spec.positive, false));

    return E.noGrad(() => {
      const zNeg = E.sub(E.mul(layer.output.detach(), scale), zPos);
      const [gPos, gNeg] = spec.mapper(relevance, zPos, zNeg, layer);
      const [sum] = E.grad([zPos, layer.output], x, {
        gradOutputs: [E.sub(gPos, gNeg), E.mul(gNeg, scale)],
        // The layer's recorded graph belongs to the explanation (another target walks it again).
        retainGraph: true,
        allowUnused: true,
      });
      return sum ? [E.mul(x.detach(), sum)] : null;
    });
  };
}
