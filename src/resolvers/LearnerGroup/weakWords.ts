import type { LearnerGroupResolvers } from '../../generated/graphql.js';

export const weakWords: LearnerGroupResolvers['weakWords'] = (group, args, ctx) => ctx.loaders.analytics.weakWords(group.externalId, args);
