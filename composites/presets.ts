import type { Tensor } from '../engine/index.js';
import {
  alphaBetaRule, epsilonRule, flatRule, gammaRule, normRule, passRule, reluBetaSmoothRule, reluDeconvNetRule,
  reluGuidedBackpropRule, zBoxRule, zPlusRule, type StabilizerLike, type ZeroParams,
} from '../rules/index.js';
import { MapComposite, type Composite, type LayerMap } from './core.js';

export interface PresetOptions {
  /** Epsilon of the Epsilon rule on dense layers. */
  epsilon?: StabilizerLike;
  /** Stabilizer of every other rule. */
  stabilizer?: StabilizerLike;
  zeroParams?: ZeroParams;
  /** Entries tried before the preset's own. */
  layerMap?: LayerMap;
  firstMap?: LayerMap;
  nameMap?: ConstructorParameters<typeof MapComposite>[0]['nameMap'];
}

/** zennit's layer_map_base: activations and batch norm pass, sums and average pools normalise. */
export function layerMapBase(stabilizer?: StabilizerLike): LayerMap {
  return [
    ['Activation', passRule()],
    ['Sum', normRule({ stabilizer })],
    ['AvgPool', normRule({ stabilizer })],
    ['BatchNorm', passRule()],
  ];
}

function make(name: string, o: PresetOptions, layerMap: LayerMap, firstMap: LayerMap = []): Composite {
  return new MapComposite({
    name,
    layerMap: [...(o.layerMap ?? []), ...layerMap],
    firstMap: [...(o.firstMap ?? []), ...firstMap],
    nameMap: o.nameMap,
  });
}

export function epsilonGammaBox(o: PresetOptions & { low: number | Tensor; high: number | Tensor; gamma?: number }): Composite {
  const z = { zeroParams: o.zeroParams };
  return make(
    'epsilon_gamma_box',
    o,
    [...layerMapBase(o.stabilizer), ['Convolution', gammaRule({ gamma: o.gamma, stabilizer: o.stabilizer, ...z })], ['Dense', epsilonRule({ epsilon: o.epsilon, ...z })]],
    [['Convolution', zBoxRule({ low: o.low, high: o.high, stabilizer: o.stabilizer, ...z })]],
  );
}

export function epsilonPlus(o: PresetOptions = {}): Composite {
  const z = { zeroParams: o.zeroParams };
  return make('epsilon_plus', o, [...layerMapBase(o.stabilizer), ['Convolution', zPlusRule({ stabilizer: o.stabilizer, ...z })], ['Dense', epsilonRule({ epsilon: o.epsilon, ...z })]]);
}

export function epsilonAlpha2Beta1(o: PresetOptions = {}): Composite {
  const z = { zeroParams: o.zeroParams };
  return make('epsilon_alpha2_beta1', o, [
    ...layerMapBase(o.stabilizer),
    ['Convolution', alphaBetaRule({ alpha: 2, beta: 1, stabilizer: o.stabilizer, ...z })],
    ['Dense', epsilonRule({ epsilon: o.epsilon, ...z })],
  ]);
}

export function epsilonPlusFlat(o: PresetOptions = {}): Composite {
  const z = { zeroParams: o.zeroParams };
  return make(
    'epsilon_plus_flat',
    o,
    [...layerMapBase(o.stabilizer), ['Convolution', zPlusRule({ stabilizer: o.stabilizer, ...z })], ['Dense', epsilonRule({ epsilon: o.epsilon, ...z })]],
    [['Linear', flatRule({ stabilizer: o.stabilizer, ...z })]],
  );
}

export function epsilonAlpha2Beta1Flat(o: PresetOptions = {}): Composite {
  const z = { zeroParams: o.zeroParams };
  return make(
    'epsilon_alpha2_beta1_flat',
    o,
    [
      ...layerMapBase(o.stabilizer),
      ['Convolution', alphaBetaRule({ alpha: 2, beta: 1, stabilizer: o.stabilizer, ...z })],
      ['Dense', epsilonRule({ epsilon: o.epsilon, ...z })],
    ],
    [['Linear', flatRule({ stabilizer: o.stabilizer, ...z })]],
  );
}

export function deconvnet(o: PresetOptions = {}): Composite {
  return make('deconvnet', o, [['type:ReLU', reluDeconvNetRule()]]);
}

export function guidedBackprop(o: PresetOptions = {}): Composite {
  return make('guided_backprop', o, [['type:ReLU', reluGuidedBackpropRule()]]);
}

export function excitationBackprop(o: PresetOptions = {}): Composite {
  return make('excitation_backprop', o, [
    ['Sum', normRule({ stabilizer: o.stabilizer })],
    ['AvgPool', normRule({ stabilizer: o.stabilizer })],
    ['Linear', zPlusRule({ stabilizer: o.stabilizer, zeroParams: o.zeroParams })],
  ]);
}

export function betaSmooth(o: PresetOptions & { beta?: number } = {}): Composite {
  return make('beta_smooth', o, [['type:ReLU', reluBetaSmoothRule({ beta: o.beta })]]);
}
