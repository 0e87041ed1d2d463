import type { MutationResolvers } from '../../generated/graphql.js';
import { requireScope } from '../../graphql/auth.js';
import { expectGlobalId } from '../../graphql/ids.js';
import { actorOf } from '../../admin/audit.js';
import { rotateLtiPlatformKey as rotate } from '../../lti/platforms.js';

export const rotateLtiPlatformKey: MutationResolvers['rotateLtiPlatformKey'] = (_parent, { id, activateAfterSeconds }, ctx) => {
  requireScope(ctx.principal, 'ADMIN');
  return rotate(ctx.services.prisma, ctx.principal.organizationId, expectGlobalId(id, 'LtiPlatform'), actorOf(ctx), activateAfterSeconds);
};
