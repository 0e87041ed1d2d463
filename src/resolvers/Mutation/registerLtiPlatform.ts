import type { MutationResolvers } from '../../generated/graphql.js';
import { requireScope } from '../../graphql/auth.js';
import { actorOf } from '../../admin/audit.js';
import { registerLtiPlatform as register } from '../../lti/platforms.js';

export const registerLtiPlatform: MutationResolvers['registerLtiPlatform'] = (_parent, { input }, ctx) => {
  requireScope(ctx.principal, 'ADMIN');
  const { prisma, webhookPolicy, config } = ctx.services;
  return register(prisma, ctx.principal.organizationId, input, actorOf(ctx), { policy: webhookPolicy, allowHttp: config.webhookAllowHttp });
};
