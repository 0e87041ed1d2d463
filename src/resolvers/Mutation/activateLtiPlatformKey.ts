import type { MutationResolvers } from '../../generated/graphql.js';
import { requireScope } from '../../graphql/auth.js';
import { expectGlobalId } from '../../graphql/ids.js';
import { actorOf } from '../../admin/audit.js';
import { activateLtiPlatformKey as activate } from '../../lti/platforms.js';

export const activateLtiPlatformKey: MutationResolvers['activateLtiPlatformKey'] = (_parent, { id, kid }, ctx) => {
  requireScope(ctx.principal, 'ADMIN');
  return activate(ctx.services.prisma, ctx.principal.organizationId, expectGlobalId(id, 'LtiPlatform'), actorOf(ctx), kid);
};
