import type { LearnerGroupResolvers } from '../../generated/graphql.js';

/** One aggregate statement, then the learners through the (batched, scope-checked) learner loader. */
export const droppedLearners: LearnerGroupResolvers['droppedLearners'] = async (group, args, ctx) => {
  const drops = await ctx.loaders.analytics.droppedLearners(group.externalId, args);
  const learners = await ctx.loaders.learner.loadMany(drops.map((d) => d.learnerId));
  return drops.flatMap((d, i) => {
    const learner = learners[i];
    if (learner instanceof Error) throw learner;
    return learner ? [{ ...d, learner }] : [];
  });
};
