export * from './core.js';
export * from './basic-rule.js';
export * from './reducers.js';
export * from './stabilizer.js';
export * from './builtin.js';
export * from './registry.js';
export * from './args.js';
export * from './transformer.js';
