import type { UtteranceResolvers } from '../../generated/graphql.js';
import { keysetQuery, toConnection } from '../../graphql/pagination.js';

export const assessments: UtteranceResolvers['assessments'] = async (utterance, args, ctx) => {
  const page = keysetQuery(args);
  const rows = await ctx.services.prisma.assessment.findMany({
    where: { organizationId: ctx.principal.organizationId, utteranceId: utterance.id, ...page.where },
    orderBy: page.orderBy,
    take: page.take,
  });
  return toConnection(rows, args);
};
