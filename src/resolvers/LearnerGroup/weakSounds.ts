import type { LearnerGroupResolvers } from '../../generated/graphql.js';

export const weakSounds: LearnerGroupResolvers['weakSounds'] = (group, args, ctx) => ctx.loaders.analytics.weakSounds(group.externalId, args);
