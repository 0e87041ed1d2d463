import type { BulkOperationResolvers } from '../../generated/graphql.js';
import { bulkProgress } from '../../assessment/bulk.js';
import { requireScope } from '../../graphql/auth.js';

/**
 * SCORES_READ even on the operation a key just started: how many utterances a selection matched is
 * learner data (varying `since` would date a learner's practice), like the utterances themselves.
 */
export const progress: BulkOperationResolvers['progress'] = async (op, _args, ctx) => {
  requireScope(ctx.principal, 'SCORES_READ');
  return bulkProgress(op, await ctx.loaders.bulkJobCounts.load(op.id));
};
