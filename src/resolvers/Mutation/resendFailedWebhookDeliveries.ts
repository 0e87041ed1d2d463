import type { MutationResolvers } from '../../generated/graphql.js';
import { requireScope } from '../../graphql/auth.js';
import { expectGlobalId } from '../../graphql/ids.js';
import { actorOf } from '../../admin/audit.js';
import { resendFailedDeliveries } from '../../outbox/endpoints.js';

export const resendFailedWebhookDeliveries: MutationResolvers['resendFailedWebhookDeliveries'] = async (_parent, args, ctx) => {
  requireScope(ctx.principal, 'ADMIN');
  const resent = await resendFailedDeliveries(
    ctx.services.prisma,
    { organizationId: ctx.principal.organizationId, endpointId: expectGlobalId(args.endpointId, 'WebhookEndpoint') },
    args.since,
    actorOf(ctx),
  );
  if (resent.count > 0) ctx.services.wakeDelivery();
  return resent;
};
