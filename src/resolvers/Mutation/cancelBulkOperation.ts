import type { MutationResolvers } from '../../generated/graphql.js';
import { requireScope } from '../../graphql/auth.js';
import { expectGlobalId } from '../../graphql/ids.js';
import { cancelBulkOperation as cancel } from '../../assessment/bulk.js';
import { actorOf } from '../../admin/audit.js';

/** Tenancy: the operation is looked up with the caller's organisation; another's is NOT_FOUND. */
export const cancelBulkOperation: MutationResolvers['cancelBulkOperation'] = async (_parent, { id }, ctx) => {
  requireScope(ctx.principal, 'ASSESS_WRITE');
  return cancel(ctx.services.prisma, ctx.principal.organizationId, expectGlobalId(id, 'BulkOperation'), actorOf(ctx));
};
