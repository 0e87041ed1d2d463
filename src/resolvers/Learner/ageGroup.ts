import type { LearnerResolvers } from '../../generated/graphql.js';
import { readWritten } from '../../graphql/access.js';

/** As stored; refused to a key without SCORES_READ on updateLearner's answer unless it wrote it (access.ts). */
export const ageGroup: LearnerResolvers['ageGroup'] = (learner, _args, ctx) => readWritten(ctx, learner, 'ageGroup');
