import type { GroupComparisonResolvers } from '../../generated/graphql.js';

const minus = (a: number | null, b: number | null): number | null => (a != null && b != null ? b - a : null);

/** Each group's distribution over the same window and version (SQL); the differences of mean and median. */
export const aspects: GroupComparisonResolvers['aspects'] = async (c, args, ctx) => {
  const [a, b] = await Promise.all([
    ctx.loaders.analytics.groupDistribution(c.aId, args),
    ctx.loaders.analytics.groupDistribution(c.bId, args),
  ]);
  return a.map((da, i) => {
    const db = b[i]!;
    return {
      aspect: da.aspect, meanA: da.mean, meanB: db.mean, difference: minus(da.mean, db.mean),
      a: da, b: db, medianDifference: minus(da.median, db.median),
    };
  });
};
