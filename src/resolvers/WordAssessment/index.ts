// One resolver per file; this index only gathers them.
export * from './phonemes.js';
export * from './accuracyLabel.js';
export * from './ipa.js';
export * from './totalLabel.js';
export * from './syllables.js';
export * from './breakBefore.js';
export * from './pitch.js';
