// One resolver per file; this index only gathers them.
export * from './attachHumanLabels.js';
export * from './createApiKey.js';
export * from './createLearner.js';
export * from './eraseLearner.js';
export * from './reassessUtterance.js';
export * from './revokeApiKey.js';
export * from './rotateApiKey.js';
export * from './submitUtterance.js';
export * from './updateLearner.js';
export * from './registerLtiPlatform.js';
export * from './rotateLtiPlatformKey.js';
export * from './createLtiLineItem.js';
