import type { LearnerResolvers } from '../../generated/graphql.js';

/** Aggregated in SQL (src/analytics/progress.ts); SCORES_READ, checked by the loader. */
export const progress: LearnerResolvers['progress'] = (learner, args, ctx) => ctx.loaders.analytics.progress(learner.id, args);
