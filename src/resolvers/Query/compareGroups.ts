import type { QueryResolvers } from '../../generated/graphql.js';

/** SCORES_READ (checked by the loader); both groups' learner counts in one statement. */
export const compareGroups: QueryResolvers['compareGroups'] = async (_parent, { a, b }, ctx) => {
  const [groupA, groupB] = await ctx.loaders.analytics.groups([a, b]);
  return { a: groupA ?? null, b: groupB ?? null, aId: a, bId: b };
};
