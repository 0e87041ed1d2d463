// One resolver per file; this index only gathers them.
export * from './assessment.js';
export * from './error.js';
export * from './id.js';
export * from './utterance.js';
export * from './bulkOperation.js';
export * from './queuedReason.js';
