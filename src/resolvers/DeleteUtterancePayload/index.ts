// One resolver per file; this index only gathers them.
export * from './learner.js';
