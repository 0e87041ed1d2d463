// One resolver per file; this index only gathers them.
export * from './ipa.js';
export * from './label.js';
export * from './produced.js';
export * from './producedIpa.js';
