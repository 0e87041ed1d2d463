import type { LearnerResolvers } from '../../generated/graphql.js';

/** Batched across the learners of a page; the loader checks the key may read learner data. */
export const activity: LearnerResolvers['activity'] = (learner, _args, ctx) => ctx.loaders.learnerActivity.load(learner.id);
