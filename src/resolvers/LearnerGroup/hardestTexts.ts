import type { LearnerGroupResolvers } from '../../generated/graphql.js';

export const hardestTexts: LearnerGroupResolvers['hardestTexts'] = (group, args, ctx) => ctx.loaders.analytics.hardestTexts(group.externalId, args);
