import type { AssessmentResolvers } from '../../generated/graphql.js';
import { toGlobalId } from '../../graphql/ids.js';

export const id: AssessmentResolvers['id'] = (assessment) => toGlobalId('Assessment', assessment.id);
