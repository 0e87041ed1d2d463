import type { BulkOperationResolvers } from '../../generated/graphql.js';
import { requireScope } from '../../graphql/auth.js';

/** SCORES_READ, as `status`: when the selection's jobs finished says how many it matched. */
export const completedAt: BulkOperationResolvers['completedAt'] = (op, _args, ctx) => {
  requireScope(ctx.principal, 'SCORES_READ');
  return op.completedAt;
};
