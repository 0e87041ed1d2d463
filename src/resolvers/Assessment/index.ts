// One resolver per file; this index only gathers them.
export * from './agreementWithHuman.js';
export * from './id.js';
export * from './model.js';
export * from './rationale.js';
export * from './sentence.js';
export * from './utterance.js';
export * from './words.js';
export * from './gradeDeliveries.js';
export * from './pauses.js';
export * from './insertions.js';
export * from './flags.js';
export * from './fluencyMetrics.js';
export * from './intonation.js';
