// One resolver per file; this index only gathers them.
export * from './flags.js';
export * from './humanAlignment.js';
export * from './phonemes.js';
export * from './plausibility.js';
export * from './trusted.js';
export * from './words.js';
export * from './review.js';
