// One resolver per file; this index only gathers them.
export * from './id.js';
export * from './xapiAccountHomePage.js';
export * from './usage.js';
export * from './audioRetentionDays.js';
export * from './weakSounds.js';
export * from './weakWords.js';
