/** Faithfulness metrics, sanity checks and the rule test kit (docs/EVALUATION.md). */
export * from './errors.js';
export * from './stats.js';
export * from './checks.js';
export * from './methods.js';
export * from './perturbation.js';
export * from './localisation.js';
export * from './randomisation.js';
export * from './conservation.js';
export * from './continuity.js';
export * from './evaluate.js';
export * from './rule-kit.js';
