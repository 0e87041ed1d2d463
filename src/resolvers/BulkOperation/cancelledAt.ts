import type { BulkOperationResolvers } from '../../generated/graphql.js';
import { requireScope } from '../../graphql/auth.js';

/**
 * SCORES_READ, as `status`: a cancel leaves an operation that had already completed uncancelled, so
 * cancelling one just started would tell whether its selection matched anything.
 */
export const cancelledAt: BulkOperationResolvers['cancelledAt'] = (op, _args, ctx) => {
  requireScope(ctx.principal, 'SCORES_READ');
  return op.cancelledAt;
};
