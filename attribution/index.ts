export * from './explain.js';
export * from './resolver.js';
export * from './attributors.js';
export * from './param-relevance.js';
export * from './training.js';
