// One resolver per file; this index only gathers them.
export * from './aspects.js';
export * from './sounds.js';
