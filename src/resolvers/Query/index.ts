// One resolver per file; this index only gathers them.
export * from './apiKeys.js';
export * from './assessment.js';
export * from './auditEvents.js';
export * from './flaggedAssessments.js';
export * from './job.js';
export * from './learner.js';
export * from './learnerByExternalId.js';
export * from './learners.js';
export * from './model.js';
export * from './node.js';
export * from './rationaleAnalytics.js';
export * from './utterance.js';
export * from './viewer.js';
