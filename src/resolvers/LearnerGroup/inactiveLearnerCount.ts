import type { LearnerGroupResolvers } from '../../generated/graphql.js';

/** One aggregate statement: inactiveLearners' selection, counted. */
export const inactiveLearnerCount: LearnerGroupResolvers['inactiveLearnerCount'] = (group, args, ctx) =>
  ctx.loaders.analytics.inactiveLearnerCount(group.externalId, args);
