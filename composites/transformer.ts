/**
 * AttnLRP and CP-LRP (LXT) as layer maps over a transformer's leaf layers (Dense, Convolution,
 * LayerNorm, GELU) and functional ops (`op:add`, `op:matmul`, `op:mul`, `op:softmax`, `op:mean`).
 * Every epsilon here uses LXT's sign-less stabiliser, z + eps.
 */
import type { LayerRecord } from '../engine/index.js';
import { constantRule, epsilonRule, layerNormRule, meanRule, passRule, softmaxRule, uniformRule } from '../rules/index.js';
import { MapComposite, type Composite, type LayerMap } from './core.js';

export interface AttnLrpOptions {
  linearEpsilon?: number;
  convEpsilon?: number;
  layerNormEpsilon?: number;
  addEpsilon?: number;
  /** attnlrp: the epsilon of the uniform rule on products of two activations (q @ k^T, A @ v). */
  matmulEpsilon?: number;
  meanEpsilon?: number;
  /** cp_lrp: the epsilon of A @ v, all of whose relevance goes to v. */
  valueEpsilon?: number;
  /** Entries tried before the composite's own (e.g. Gamma for Dense, as LXT's ViT recipe). */
  layerMap?: LayerMap;
  firstMap?: LayerMap;
}

/** A product with a constant (the attention's 1 / sqrt(d)) is a rescaling: relevance passes through it. */
const scaling = (l: LayerRecord): boolean => l.kind === 'op:mul' && l.inputs.some((x) => !x.requiresGrad);
const product = (l: LayerRecord): boolean => l.kind === 'op:mul' && l.inputs.every((x) => x.requiresGrad);

function shared(o: AttnLrpOptions): LayerMap {
  const lxt = { signed: false };
  return [
    ['Dense', epsilonRule({ epsilon: o.linearEpsilon ?? 1e-6, ...lxt })],
    ['Convolution', epsilonRule({ epsilon: o.convEpsilon ?? 1e-6, ...lxt })],
    ['LayerNorm', layerNormRule({ epsilon: o.layerNormEpsilon ?? 1e-6 })],
    ['Activation', passRule()],
    ['op:add', epsilonRule({ epsilon: o.addEpsilon ?? 1e-8, ...lxt })],
    ['op:mean', meanRule({ epsilon: o.meanEpsilon ?? 1e-6 })],
    [scaling, passRule()],
  ];
}

function make(name: string, o: AttnLrpOptions, own: LayerMap): Composite {
  return new MapComposite({ name, layerMap: [...(o.layerMap ?? []), ...own], firstMap: o.firstMap });
}

/** AttnLRP: the uniform rule on products of activations, LXT's softmax rule, epsilon elsewhere. */
export function attnLrp(o: AttnLrpOptions = {}): Composite {
  const uniform = uniformRule({ epsilon: o.matmulEpsilon ?? 1e-8 });
  return make('attnlrp', o, [...shared(o), ['op:matmul', uniform], [product, uniform], ['op:softmax', softmaxRule()]]);
}

/** CP-LRP: attention weights are constants; A @ v passes all relevance to v by epsilon, q and k get none. */
export function cpLrp(o: AttnLrpOptions = {}): Composite {
  const toSecond = epsilonRule({ epsilon: o.valueEpsilon ?? 1e-6, signed: false, constantInputs: [0] });
  return make('cp_lrp', o, [...shared(o), ['op:matmul', toSecond], ['op:softmax', constantRule()]]);
}
