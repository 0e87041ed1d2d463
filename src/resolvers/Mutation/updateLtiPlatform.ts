import type { MutationResolvers } from '../../generated/graphql.js';
import { requireScope } from '../../graphql/auth.js';
import { expectGlobalId } from '../../graphql/ids.js';
import { actorOf } from '../../admin/audit.js';
import { updateLtiPlatform as update } from '../../lti/platforms.js';

export const updateLtiPlatform: MutationResolvers['updateLtiPlatform'] = (_parent, { id, input }, ctx) => {
  requireScope(ctx.principal, 'ADMIN');
  const { prisma, webhookPolicy, config } = ctx.services;
  return update(prisma, ctx.principal.organizationId, expectGlobalId(id, 'LtiPlatform'), input, actorOf(ctx), { policy: webhookPolicy, allowHttp: config.webhookAllowHttp });
};
