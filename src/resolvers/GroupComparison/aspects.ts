import type { GroupComparisonResolvers } from '../../generated/graphql.js';

/** Each group's distribution (SQL); the difference of the two means per aspect. */
export const aspects: GroupComparisonResolvers['aspects'] = async (c, _args, ctx) => {
  const [a, b] = await Promise.all([
    ctx.loaders.analytics.groupDistribution(c.aId, {}),
    ctx.loaders.analytics.groupDistribution(c.bId, {}),
  ]);
  return a.map((da, i) => {
    const meanA = da.mean;
    const meanB = b[i]!.mean;
    return { aspect: da.aspect, meanA, meanB, difference: meanA != null && meanB != null ? meanB - meanA : null };
  });
};
