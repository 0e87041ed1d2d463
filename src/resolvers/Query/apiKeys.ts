import type { QueryResolvers } from '../../generated/graphql.js';
import { requireScope } from '../../graphql/auth.js';
import { findPage } from '../../graphql/pagination.js';

/** Newest first on the (organizationId, createdAt, id) index; revoked keys only when asked. */
export const apiKeys: QueryResolvers['apiKeys'] = (_parent, args, ctx) => {
  requireScope(ctx.principal, 'ADMIN');
  return findPage(args, ({ where, orderBy, take }) =>
    ctx.services.prisma.apiKey.findMany({
      where: { organizationId: ctx.principal.organizationId, ...(args.includeRevoked ? {} : { revokedAt: null }), ...where },
      orderBy,
      take,
    }),
  );
};
