import type { MutationResolvers } from '../../generated/graphql.js';
import { requireScope } from '../../graphql/auth.js';
import { expectGlobalId } from '../../graphql/ids.js';
import { actorOf } from '../../admin/audit.js';
import { resendXapiDelivery as resend } from '../../xapi/resend.js';

export const resendXapiDelivery: MutationResolvers['resendXapiDelivery'] = async (_parent, { id }, ctx) => {
  requireScope(ctx.principal, 'ADMIN');
  const delivery = await resend(
    ctx.services.prisma,
    ctx.services.config.xapi.lrs,
    { organizationId: ctx.principal.organizationId, id: expectGlobalId(id, 'XapiDelivery') },
    actorOf(ctx),
  );
  ctx.services.wakeDelivery();
  return delivery;
};
