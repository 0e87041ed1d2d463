import type { MutationResolvers } from '../../generated/graphql.js';
import { requireScope } from '../../graphql/auth.js';
import { expectGlobalId } from '../../graphql/ids.js';
import { actorOf } from '../../admin/audit.js';
import { resendFailedGradeDeliveries as resendFailed } from '../../lti/resend.js';

export const resendFailedGradeDeliveries: MutationResolvers['resendFailedGradeDeliveries'] = async (_parent, args, ctx) => {
  requireScope(ctx.principal, 'ADMIN');
  const resent = await resendFailed(
    ctx.services.prisma,
    { organizationId: ctx.principal.organizationId, lineItemId: expectGlobalId(args.lineItemId, 'LtiLineItem') },
    args.since,
    actorOf(ctx),
  );
  if (resent.count > 0) ctx.services.wakeDelivery();
  return resent;
};
