import type { MutationResolvers } from '../../generated/graphql.js';
import { requireScope } from '../../graphql/auth.js';
import { actorOf } from '../../admin/audit.js';
import { resendFailedXapiDeliveries as resendFailed } from '../../xapi/resend.js';

export const resendFailedXapiDeliveries: MutationResolvers['resendFailedXapiDeliveries'] = async (_parent, { since }, ctx) => {
  requireScope(ctx.principal, 'ADMIN');
  const resent = await resendFailed(ctx.services.prisma, ctx.services.config.xapi.lrs, ctx.principal.organizationId, since, actorOf(ctx));
  if (resent.count > 0) ctx.services.wakeDelivery();
  return resent;
};
