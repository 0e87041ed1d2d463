// One resolver per file; this index only gathers them.
export * from './attachHumanLabels.js';
export * from './createApiKey.js';
export * from './createLearner.js';
export * from './reassessUtterance.js';
export * from './submitUtterance.js';
