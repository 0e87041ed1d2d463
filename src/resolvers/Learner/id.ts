import type { LearnerResolvers } from '../../generated/graphql.js';
import { toGlobalId } from '../../graphql/ids.js';

export const id: LearnerResolvers['id'] = (learner) => toGlobalId('Learner', learner.id);
