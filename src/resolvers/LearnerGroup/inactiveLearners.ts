import type { LearnerGroupResolvers } from '../../generated/graphql.js';

/** One aggregate statement, then the learners through the (batched, scope-checked) learner loader. */
export const inactiveLearners: LearnerGroupResolvers['inactiveLearners'] = async (group, args, ctx) => {
  const rows = await ctx.loaders.analytics.inactiveLearners(group.externalId, args);
  const learners = await ctx.loaders.learner.loadMany(rows.map((r) => r.learnerId));
  return rows.flatMap((r, i) => {
    const learner = learners[i];
    if (learner instanceof Error) throw learner;
    return learner ? [{ lastPracticeAt: r.lastPracticeAt, cursor: r.cursor, learner }] : [];
  });
};
