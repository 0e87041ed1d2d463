// One resolver per file; this index only gathers them.
export * from './attachHumanLabels.js';
export * from './createApiKey.js';
export * from './createLearner.js';
export * from './createWebhookEndpoint.js';
export * from './deleteWebhookEndpoint.js';
export * from './eraseLearner.js';
export * from './reassessUtterance.js';
export * from './resendFailedWebhookDeliveries.js';
export * from './resendWebhookDelivery.js';
export * from './revokeApiKey.js';
export * from './rotateApiKey.js';
export * from './rotateWebhookSecret.js';
export * from './submitUtterance.js';
export * from './updateLearner.js';
export * from './updateWebhookEndpoint.js';
