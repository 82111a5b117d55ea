/** Modules, layers, optimizers and state dicts (PyTorch-shaped). */
export { Module, Overrides, withOverrides, activeResidualOverride, type Parameter, type ForwardOverride, type ResidualOverride } from './module.js';
export { StateDictError, type StateDictLike, type LoadResult } from './statedict.js';
export { Layer, type LayerFn, type LayerParams } from './layer.js';
export { Linear, Conv2d, BatchNorm1d, BatchNorm2d, type LayerInit, type WeightInit, type Conv2dOpts, type BatchNormOpts } from './layers.js';
export {
  ReLU, LeakyReLU, Tanh, Sigmoid, Softplus, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, Flatten, Dropout, Identity, Sum,
  type MaxPool2dOpts, type AvgPool2dOpts,
} from './parameter-free.js';
export { Sequential } from './containers.js';
export { Optimizer, SGD, Adam, type ParamSource, type ParamState, type SGDOptions, type AdamOptions } from './optim.js';
export { loadSafetensorsStateDict, serializeStateDict, rawToTensor, tensorToRaw, type LoadStateOptions } from './state.js';
export * as init from './init.js';
export { LayerNorm, GELU } from './transformer.js';
