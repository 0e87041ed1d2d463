// One resolver per file; this index only gathers them.
export * from './attemptLog.js';
export * from './lastHttpStatus.js';
export * from './lineItem.js';
export * from './nextAttemptAt.js';
export * from './score.js';
export * from './id.js';
export * from './assessment.js';
export * from './job.js';
