import type { LearnerResolvers } from '../../generated/graphql.js';

/** Aggregated in SQL (src/analytics/sounds.ts); SCORES_READ, checked by the loader. */
export const soundChanges: LearnerResolvers['soundChanges'] = (learner, args, ctx) => ctx.loaders.analytics.soundChanges(learner.id, args);
