import type { LearnerGroupResolvers } from '../../generated/graphql.js';

/** One statement over the group's members (src/analytics/cohorts.ts); SCORES_READ, checked by the loader. */
export const soundChanges: LearnerGroupResolvers['soundChanges'] = (group, args, ctx) => ctx.loaders.analytics.groupSoundChanges(group.externalId, args);
