/** The whole library, one namespace per layer (see docs/ARCHITECTURE.md). */
export * as engine from './engine/index.js';
export * as nn from './nn/index.js';
export * as models from './models/index.js';
export * as rules from './rules/index.js';
export * as composites from './composites/index.js';
export * as canonizers from './canonizers/index.js';
export * as attribution from './attribution/index.js';
export * as diagnostics from './diagnostics/index.js';
export * as image from './image/index.js';
export * as conformance from './conformance/index.js';
export * as evaluation from './evaluation/index.js';
/** `await ready()` before the first computation in a browser: the fast kernels compile asynchronously there. */
export { ready, kernelStatus, type KernelStatus } from './engine/index.js';
