import type { BulkOperationResolvers } from '../../generated/graphql.js';
import { bulkProgress, bulkStatus } from '../../assessment/bulk.js';
import { requireScope } from '../../graphql/auth.js';

/**
 * SCORES_READ even on the operation a key just started, like `progress`: an operation whose
 * selection matched nothing is COMPLETED at once, so the status would tell a key that may not read
 * learner data whether a learner recorded anything since `since`.
 */
export const status: BulkOperationResolvers['status'] = async (op, _args, ctx) => {
  requireScope(ctx.principal, 'SCORES_READ');
  return bulkStatus(op, bulkProgress(op, await ctx.loaders.bulkJobCounts.load(op.id)));
};
