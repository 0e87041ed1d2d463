import type { MutationResolvers } from '../../generated/graphql.js';
import { requireScope } from '../../graphql/auth.js';
import { actorOf } from '../../admin/audit.js';
import { removeXapiLrs as remove } from '../../xapi/lrs-settings.js';

export const removeXapiLrs: MutationResolvers['removeXapiLrs'] = (_parent, _args, ctx) => {
  requireScope(ctx.principal, 'ADMIN');
  return remove(ctx.services.prisma, ctx.principal.organizationId, actorOf(ctx));
};
