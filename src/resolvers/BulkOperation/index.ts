// One resolver per file; this index only gathers them.
export * from './id.js';
export * from './oneLearner.js';
export * from './modelVersion.js';
export * from './progress.js';
export * from './status.js';
export * from './completedAt.js';
export * from './cancelledAt.js';
