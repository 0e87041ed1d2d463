import type { QueryResolvers } from '../../generated/graphql.js';
import { requireScope } from '../../graphql/auth.js';
import { keysetQuery, toConnection } from '../../graphql/pagination.js';

/** The review queue: model assessments whose rationale raised `flag` (any flag), newest first. */
export const flaggedAssessments: QueryResolvers['flaggedAssessments'] = async (_parent, args, ctx) => {
  requireScope(ctx.principal, 'ADMIN');
  const page = keysetQuery(args);
  const flags = args.flag ? { has: args.flag } : { isEmpty: false };
  const rows = await ctx.services.prisma.assessment.findMany({
    where: {
      organizationId: ctx.principal.organizationId,
      source: 'MODEL',
      ...(args.modelVersion != null ? { modelVersion: args.modelVersion } : {}),
      rationale: { is: { flags } },
      ...page.where,
    },
    orderBy: page.orderBy,
    take: page.take,
  });
  return toConnection(rows, args);
};
