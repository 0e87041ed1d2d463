import type { LearnerResolvers } from '../../generated/graphql.js';

/** Aggregated in SQL (src/analytics/sounds.ts); SCORES_READ, checked by the loader. */
export const wordProfile: LearnerResolvers['wordProfile'] = (learner, args, ctx) => ctx.loaders.analytics.wordProfile(learner.id, args);
