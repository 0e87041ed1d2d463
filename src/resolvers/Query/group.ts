import type { QueryResolvers } from '../../generated/graphql.js';

/** SCORES_READ (checked by the loader); null when no learner of the organisation is in the group. */
export const group: QueryResolvers['group'] = async (_parent, { externalId }, ctx) =>
  (await ctx.loaders.analytics.groups([externalId]))[0] ?? null;
