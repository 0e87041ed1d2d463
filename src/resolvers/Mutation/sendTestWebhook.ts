import type { MutationResolvers } from '../../generated/graphql.js';
import { requireScope } from '../../graphql/auth.js';
import { expectGlobalId } from '../../graphql/ids.js';
import { actorOf } from '../../admin/audit.js';
import { sendTestEvent } from '../../outbox/endpoints.js';

/** ADMIN. The delivery goes out at once: this process's delivery worker is woken. */
export const sendTestWebhook: MutationResolvers['sendTestWebhook'] = async (_parent, { endpointId }, ctx) => {
  requireScope(ctx.principal, 'ADMIN');
  const delivery = await sendTestEvent(
    ctx.services.prisma,
    { organizationId: ctx.principal.organizationId, endpointId: expectGlobalId(endpointId, 'WebhookEndpoint') },
    actorOf(ctx),
  );
  ctx.services.wakeDelivery();
  return delivery;
};
