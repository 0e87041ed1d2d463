import type { LearnerGroupResolvers } from '../../generated/graphql.js';

/** One aggregate statement: droppedLearners' selection, counted. */
export const droppedLearnerCount: LearnerGroupResolvers['droppedLearnerCount'] = (group, args, ctx) =>
  ctx.loaders.analytics.droppedLearnerCount(group.externalId, args);
