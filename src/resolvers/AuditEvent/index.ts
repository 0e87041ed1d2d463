// One resolver per file; this index only gathers them.
export * from './actorApiKeyId.js';
export * from './id.js';
export * from './targetId.js';
