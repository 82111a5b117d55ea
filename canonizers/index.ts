export * from './core.js';
export * from './batchnorm.js';
export * from './resnet.js';
export * from './registry.js';
