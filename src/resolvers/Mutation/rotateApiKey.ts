import type { MutationResolvers } from '../../generated/graphql.js';
import { requireScope } from '../../graphql/auth.js';
import { expectGlobalId } from '../../graphql/ids.js';
import { actorOf } from '../../admin/audit.js';
import { rotateApiKey as rotate } from '../../admin/keys.js';

export const rotateApiKey: MutationResolvers['rotateApiKey'] = (_parent, args, ctx) => {
  requireScope(ctx.principal, 'ADMIN');
  return rotate(
    ctx.services.prisma,
    { organizationId: ctx.principal.organizationId, id: expectGlobalId(args.id, 'ApiKey') },
    { expireOldAfterSeconds: args.expireOldAfterSeconds ?? 0, expiresAt: args.expiresAt },
    actorOf(ctx),
  );
};
