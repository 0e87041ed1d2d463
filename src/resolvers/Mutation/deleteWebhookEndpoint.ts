import type { MutationResolvers } from '../../generated/graphql.js';
import { requireScope } from '../../graphql/auth.js';
import { expectGlobalId } from '../../graphql/ids.js';
import { actorOf } from '../../admin/audit.js';
import { deleteEndpoint } from '../../outbox/endpoints.js';

export const deleteWebhookEndpoint: MutationResolvers['deleteWebhookEndpoint'] = (_parent, { id }, ctx) => {
  requireScope(ctx.principal, 'ADMIN');
  return deleteEndpoint(
    ctx.services.prisma,
    { organizationId: ctx.principal.organizationId, id: expectGlobalId(id, 'WebhookEndpoint') },
    actorOf(ctx),
  );
};
