/** Seeing inside an explanation: relevance ledger, rule coverage, intermediate relevance, graph views. */
export * from './trace.js';
export * from './ledger.js';
export * from './blocks.js';
export * from './coverage.js';
export * from './intermediate.js';
export * from './format.js';
export * from './dot.js';
export * from './svg.js';
export * from './conservation.js';
