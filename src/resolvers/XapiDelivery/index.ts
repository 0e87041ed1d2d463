// One resolver per file; this index only gathers them.
export * from './id.js';
export * from './assessment.js';
export * from './attemptLog.js';
export * from './lastHttpStatus.js';
export * from './nextAttemptAt.js';
export * from './voidedStatementIds.js';
