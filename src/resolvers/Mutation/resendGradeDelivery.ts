import type { MutationResolvers } from '../../generated/graphql.js';
import { requireScope } from '../../graphql/auth.js';
import { expectGlobalId } from '../../graphql/ids.js';
import { actorOf } from '../../admin/audit.js';
import { resendGradeDelivery as resend } from '../../lti/resend.js';

export const resendGradeDelivery: MutationResolvers['resendGradeDelivery'] = async (_parent, { id }, ctx) => {
  requireScope(ctx.principal, 'ADMIN');
  const delivery = await resend(
    ctx.services.prisma,
    { organizationId: ctx.principal.organizationId, id: expectGlobalId(id, 'GradeDelivery') },
    actorOf(ctx),
  );
  ctx.services.wakeDelivery();
  return delivery;
};
