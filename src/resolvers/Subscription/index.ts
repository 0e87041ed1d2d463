// One resolver per file; this index only gathers them.
export * from './jobStatusChanged.js';
export * from './assessmentCreated.js';
