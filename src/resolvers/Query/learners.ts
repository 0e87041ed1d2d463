import type { QueryResolvers } from '../../generated/graphql.js';
import { requireScope } from '../../graphql/auth.js';
import { keysetQuery, toConnection } from '../../graphql/pagination.js';

export const learners: QueryResolvers['learners'] = async (_parent, args, ctx) => {
  requireScope(ctx.principal, 'SCORES_READ');
  const page = keysetQuery(args);
  const rows = await ctx.services.prisma.learner.findMany({
    where: { organizationId: ctx.principal.organizationId, ...page.where },
    orderBy: page.orderBy,
    take: page.take,
  });
  return toConnection(rows, args);
};
