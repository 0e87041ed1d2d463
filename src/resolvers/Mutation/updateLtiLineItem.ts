import type { MutationResolvers } from '../../generated/graphql.js';
import { requireScope } from '../../graphql/auth.js';
import { expectGlobalId } from '../../graphql/ids.js';
import { actorOf } from '../../admin/audit.js';
import { updateLtiLineItem as update } from '../../lti/platforms.js';

export const updateLtiLineItem: MutationResolvers['updateLtiLineItem'] = (_parent, { id, input }, ctx) => {
  requireScope(ctx.principal, 'ADMIN');
  const { prisma, webhookPolicy, config } = ctx.services;
  return update(prisma, ctx.principal.organizationId, expectGlobalId(id, 'LtiLineItem'), input, actorOf(ctx), { policy: webhookPolicy, allowHttp: config.webhookAllowHttp });
};
