import type { LearnerGroupResolvers } from '../../generated/graphql.js';

/** Two aggregate statements over the group's utterances (src/analytics/progress.ts); SCORES_READ, checked by the loader. */
export const progress: LearnerGroupResolvers['progress'] = (group, args, ctx) => ctx.loaders.analytics.groupProgress(group.externalId, args);
