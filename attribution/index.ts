export * from './explain.js';
export * from './attributors.js';
