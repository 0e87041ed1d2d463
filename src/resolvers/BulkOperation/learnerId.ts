import type { BulkOperationResolvers } from '../../generated/graphql.js';
import { toGlobalId } from '../../graphql/ids.js';

/** The learner's global id, as the client named it (not the Learner: reading it needs SCORES_READ). */
export const learnerId: BulkOperationResolvers['learnerId'] = (op) => (op.learnerId ? toGlobalId('Learner', op.learnerId) : null);
