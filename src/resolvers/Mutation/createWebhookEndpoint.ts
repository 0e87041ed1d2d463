import type { MutationResolvers } from '../../generated/graphql.js';
import { requireScope } from '../../graphql/auth.js';
import { actorOf } from '../../admin/audit.js';
import { createEndpoint } from '../../outbox/endpoints.js';

export const createWebhookEndpoint: MutationResolvers['createWebhookEndpoint'] = (_parent, { input }, ctx) => {
  requireScope(ctx.principal, 'ADMIN');
  const { prisma, config, webhookPolicy } = ctx.services;
  return createEndpoint(
    prisma,
    { policy: webhookPolicy, allowHttp: config.webhookAllowHttp, maxEndpoints: config.webhookMaxEndpoints },
    { organizationId: ctx.principal.organizationId, url: input.url, eventTypes: input.eventTypes, description: input.description },
    actorOf(ctx),
  );
};
