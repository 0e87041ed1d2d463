// One resolver per file; this index only gathers them.
export * from './hasNextPage.js';
export * from './hasPreviousPage.js';
