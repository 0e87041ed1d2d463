// One resolver per file; this index only gathers them.
export * from './attemptCount.js';
export * from './attempts.js';
export * from './endpoint.js';
export * from './event.js';
export * from './id.js';
export * from './maxAttempts.js';
export * from './nextAttemptAt.js';
