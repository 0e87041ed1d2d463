import type { MutationResolvers } from '../../generated/graphql.js';
import { requireScope } from '../../graphql/auth.js';
import { expectGlobalId } from '../../graphql/ids.js';
import { actorOf } from '../../admin/audit.js';
import { regradeLineItem } from '../../lti/regrade.js';

export const regradeLtiLineItem: MutationResolvers['regradeLtiLineItem'] = (_parent, { id, userIds, idempotencyKey }, ctx) => {
  requireScope(ctx.principal, 'ADMIN');
  return regradeLineItem(ctx.services.prisma, ctx.principal.organizationId, expectGlobalId(id, 'LtiLineItem'), userIds ?? null, actorOf(ctx), { idempotencyKey });
};
