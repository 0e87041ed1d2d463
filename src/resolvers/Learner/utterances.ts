import type { LearnerResolvers } from '../../generated/graphql.js';
import { keysetQuery, toConnection } from '../../graphql/pagination.js';

/** Newest first, keyset-paginated on the (organizationId, learnerId, createdAt, id) index. */
export const utterances: LearnerResolvers['utterances'] = async (learner, args, ctx) => {
  const page = keysetQuery(args);
  const rows = await ctx.services.prisma.utterance.findMany({
    where: { organizationId: ctx.principal.organizationId, learnerId: learner.id, ...page.where },
    orderBy: page.orderBy,
    take: page.take,
  });
  return toConnection(rows, args);
};
