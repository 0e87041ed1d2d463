import type { AssessmentResolvers } from '../../generated/graphql.js';

export const sentence: AssessmentResolvers['sentence'] = (a) => ({
  accuracy: a.accuracy,
  fluency: a.fluency,
  prosody: a.prosody,
  completeness: a.completeness,
  total: a.total,
});
