import type { LearnerResolvers } from '../../generated/graphql.js';

/** Aggregated in SQL (src/analytics/sounds.ts); SCORES_READ, checked by the loader. */
export const soundProfile: LearnerResolvers['soundProfile'] = (learner, args, ctx) => ctx.loaders.analytics.soundProfile(learner.id, args);
