// The fluent tensor methods (x.mul(2).sum()) are installed by importing the barrel.
import './methods.js';

export { LrpTapeError, ArgumentError, DataError, ShapeMismatchError, FileIoError, InternalError, isLrpTapeError, safeName, type ErrorCategory } from './errors.js';
export { Tensor, ShapeError, DTypeError, sizeOf, shapeStr, type DType, type Shape, type Storage } from './tensor.js';
export { noGrad, withGradMode, isGradEnabled, apply, Node, AutogradError } from './autograd.js';
export type { OpDef, VjpContext } from './autograd.js';
export { grad, backward, type GradOptions, type RuleResolver, type LayerBackward } from './grad.js';
export { record, runLayer, withoutOpLayers, inModuleScope, currentRecording, Recording, type LayerRecord, type LayerSpec } from './recording.js';
export { Rng, manualSeed, defaultRng } from './random.js';
export * from './ops/index.js';
export * from './gradcheck.js';
export { fromNdarray, toNdarray, type NdarrayLike } from './interop.js';
export { setParamCache, paramCacheEnabled, paramCacheStats, resetParamCacheStats, paramVersion, memoDerived, withParamCheckScope } from './param-cache.js';
export { markModelState, markModified } from './model-state.js';
export { setKernelBackend, getKernelBackend, type KernelBackend } from './kernels/dispatch.js';
export { loadWasmKernels, setWasmRelaxedSimd, wasmVariant, type WasmVariant } from './kernels/wasm/index.js';
export { ready, kernelStatus, type KernelStatus } from './kernels/status.js';
export { setKernelThreads, getKernelThreads, startKernelWorkers, startKernelWorkersAsync, setKernelWorkerUrl } from './kernels/parallel/index.js';
