import type { MutationResolvers } from '../../generated/graphql.js';
import { requireScope } from '../../graphql/auth.js';
import { expectGlobalId } from '../../graphql/ids.js';
import { actorOf } from '../../admin/audit.js';
import { deleteLtiLineItem as remove } from '../../lti/platforms.js';

export const deleteLtiLineItem: MutationResolvers['deleteLtiLineItem'] = (_parent, { id }, ctx) => {
  requireScope(ctx.principal, 'ADMIN');
  return remove(ctx.services.prisma, ctx.principal.organizationId, expectGlobalId(id, 'LtiLineItem'), actorOf(ctx));
};
