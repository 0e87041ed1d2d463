// One resolver per file; this index only gathers them. flags, words and phonemes are read as stored.
export * from './humanLabels.js';
export * from './plausibility.js';
