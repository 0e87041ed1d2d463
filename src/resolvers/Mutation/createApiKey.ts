import type { MutationResolvers } from '../../generated/graphql.js';
import { requireScope } from '../../graphql/auth.js';
import { actorOf } from '../../admin/audit.js';
import { issueApiKey } from '../../admin/keys.js';

export const createApiKey: MutationResolvers['createApiKey'] = (_parent, { input }, ctx) => {
  requireScope(ctx.principal, 'ADMIN');
  return issueApiKey(
    ctx.services.prisma,
    { organizationId: ctx.principal.organizationId, name: input.name, scopes: input.scopes, expiresAt: input.expiresAt },
    actorOf(ctx),
  );
};
