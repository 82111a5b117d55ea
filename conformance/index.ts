export * from './case.js';
export * from './runner.js';
export * from './run-dir.js';
