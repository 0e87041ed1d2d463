import type { LearnerGroupResolvers } from '../../generated/graphql.js';

export const scoreDistribution: LearnerGroupResolvers['scoreDistribution'] = (group, args, ctx) =>
  ctx.loaders.analytics.groupDistribution(group.externalId, args);
