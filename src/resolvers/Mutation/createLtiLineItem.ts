import type { MutationResolvers } from '../../generated/graphql.js';
import { requireScope } from '../../graphql/auth.js';
import { expectGlobalId } from '../../graphql/ids.js';
import { actorOf } from '../../admin/audit.js';
import { createLtiLineItem as create } from '../../lti/platforms.js';

export const createLtiLineItem: MutationResolvers['createLtiLineItem'] = (_parent, { input }, ctx) => {
  requireScope(ctx.principal, 'ADMIN');
  return create(
    ctx.services.prisma,
    ctx.principal.organizationId,
    { ...input, platformId: expectGlobalId(input.platformId, 'LtiPlatform') },
    actorOf(ctx.principal),
  );
};
