import type { MutationResolvers } from '../../generated/graphql.js';
import { requireScope } from '../../graphql/auth.js';
import { actorOf } from '../../admin/audit.js';
import { setXapiLrs as set } from '../../xapi/lrs-settings.js';

export const setXapiLrs: MutationResolvers['setXapiLrs'] = (_parent, { input }, ctx) => {
  requireScope(ctx.principal, 'ADMIN');
  const { prisma, config, webhookPolicy } = ctx.services;
  return set(prisma, { policy: webhookPolicy, allowHttp: config.webhookAllowHttp }, ctx.principal.organizationId, input, actorOf(ctx));
};
