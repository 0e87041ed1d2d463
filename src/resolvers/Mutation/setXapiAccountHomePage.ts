import type { MutationResolvers } from '../../generated/graphql.js';
import { requireScope } from '../../graphql/auth.js';
import { actorOf } from '../../admin/audit.js';
import { setXapiAccountHomePage as set } from '../../xapi/lrs-settings.js';

export const setXapiAccountHomePage: MutationResolvers['setXapiAccountHomePage'] = (_parent, { url }, ctx) => {
  requireScope(ctx.principal, 'ADMIN');
  return set(ctx.services.prisma, ctx.principal.organizationId, url ?? null, actorOf(ctx));
};
