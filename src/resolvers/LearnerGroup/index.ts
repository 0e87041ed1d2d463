// One resolver per file; this index only gathers them.
export * from './droppedLearners.js';
export * from './inactiveLearners.js';
export * from './scoreDistribution.js';
export * from './weakSounds.js';
export * from './droppedLearnerCount.js';
export * from './inactiveLearnerCount.js';
export * from './progress.js';
export * from './weakWords.js';
export * from './hardestTexts.js';
export * from './soundChanges.js';
