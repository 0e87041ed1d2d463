import type { AssessmentResolvers } from '../../generated/graphql.js';
import type { AssessmentFlag } from '../../assessment/wrong-text.js';

export const flags: AssessmentResolvers['flags'] = (assessment) => assessment.flags as AssessmentFlag[];
