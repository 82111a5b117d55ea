export * from './core.js';
export * from './presets.js';
export * from './registry.js';
export * from './transformer.js';
