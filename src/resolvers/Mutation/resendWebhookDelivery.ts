import type { MutationResolvers } from '../../generated/graphql.js';
import { requireScope } from '../../graphql/auth.js';
import { expectGlobalId } from '../../graphql/ids.js';
import { actorOf } from '../../admin/audit.js';
import { resendDelivery } from '../../outbox/endpoints.js';

export const resendWebhookDelivery: MutationResolvers['resendWebhookDelivery'] = async (_parent, { id }, ctx) => {
  requireScope(ctx.principal, 'ADMIN');
  const delivery = await resendDelivery(
    ctx.services.prisma,
    { organizationId: ctx.principal.organizationId, id: expectGlobalId(id, 'WebhookDelivery') },
    actorOf(ctx),
  );
  ctx.services.wakeDelivery();
  return delivery;
};
