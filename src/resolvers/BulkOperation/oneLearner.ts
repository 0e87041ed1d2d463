import type { BulkOperationResolvers } from '../../generated/graphql.js';

/**
 * Not the learner's id: the operation is returned to an ASSESS_WRITE key, which may not read learner
 * data (src/graphql/access.ts), and to any SCORES_READ key of the organisation.
 */
export const oneLearner: BulkOperationResolvers['oneLearner'] = (op) => op.learnerId !== null;
