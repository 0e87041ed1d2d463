// One resolver per file; this index only gathers them.
export * from './id.js';
export * from './externalId.js';
export * from './displayName.js';
export * from './groups.js';
export * from './ageGroup.js';
export * from './createdAt.js';
export * from './utterances.js';
export * from './progress.js';
export * from './soundChanges.js';
export * from './soundProfile.js';
export * from './wordProfile.js';
export * from './activity.js';
