import type { AssessmentResolvers } from '../../generated/graphql.js';

export const model: AssessmentResolvers['model'] = (a) =>
  a.modelName && a.modelVersion ? { name: a.modelName, version: a.modelVersion } : null;
