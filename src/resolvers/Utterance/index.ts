// One resolver per file; this index only gathers them.
export * from './assessments.js';
export * from './audio.js';
export * from './audioUrl.js';
export * from './humanLabels.js';
export * from './id.js';
export * from './jobs.js';
export * from './latestAssessment.js';
export * from './learner.js';
export * from './referenceWords.js';
export * from './learnerGroups.js';
export * from './metadata.js';
