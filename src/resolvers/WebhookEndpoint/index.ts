// One resolver per file; this index only gathers them.
export * from './deliveries.js';
export * from './enabled.js';
export * from './id.js';
export * from './signingSecrets.js';
