import type { MutationResolvers } from '../../generated/graphql.js';
import { requireScope } from '../../graphql/auth.js';
import { expectGlobalId } from '../../graphql/ids.js';
import { actorOf } from '../../admin/audit.js';
import { updateEndpoint } from '../../outbox/endpoints.js';

export const updateWebhookEndpoint: MutationResolvers['updateWebhookEndpoint'] = async (_parent, { id, input }, ctx) => {
  requireScope(ctx.principal, 'ADMIN');
  const { prisma, config, webhookPolicy } = ctx.services;
  const endpoint = await updateEndpoint(
    prisma,
    { policy: webhookPolicy, allowHttp: config.webhookAllowHttp, maxEndpoints: config.webhookMaxEndpoints },
    { organizationId: ctx.principal.organizationId, id: expectGlobalId(id, 'WebhookEndpoint') },
    { ...input, descriptionGiven: 'description' in input },
    actorOf(ctx),
  );
  if (input.enabled === true) ctx.services.wakeDelivery();
  return endpoint;
};
