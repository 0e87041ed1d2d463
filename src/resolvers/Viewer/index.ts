// One resolver per file; this index only gathers them.
export * from './organization.js';
export * from './apiKey.js';
