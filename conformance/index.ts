export * from './case.js';
export * from './runner.js';
