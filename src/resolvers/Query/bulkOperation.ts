import type { QueryResolvers } from '../../generated/graphql.js';
import { requireScope } from '../../graphql/auth.js';
import { fromGlobalId } from '../../graphql/ids.js';

/** The caller's bulk operation by global id; a malformed, foreign or unknown id reads as null. */
export const bulkOperation: QueryResolvers['bulkOperation'] = (_parent, { id }, ctx) => {
  const parsed = fromGlobalId(id);
  if (parsed?.type !== 'BulkOperation') {
    requireScope(ctx.principal, 'ASSESS_WRITE');
    return null;
  }
  return ctx.loaders.bulkOperation.load(parsed.id);
};
