import type { GroupComparisonResolvers } from '../../generated/graphql.js';
import { badInput } from '../../errors.js';
import { MAX_SOUNDS } from '../../analytics/sounds.js';

/**
 * Each group's sound figures (SQL, the weakSounds aggregate over the same window, every sound with
 * at least `minCount` assessments), then the sounds both groups have, by how far their error rates
 * differ: two lists of at most MAX_SOUNDS aggregates joined here, no phoneme row leaves the database.
 */
export const sounds: GroupComparisonResolvers['sounds'] = async (c, args, ctx) => {
  const first = args.first ?? 10;
  if (!Number.isInteger(first) || first < 1 || first > MAX_SOUNDS) {
    throw badInput(`"first" must be 1-${MAX_SOUNDS}, got ${first}.`, 'first', { max: MAX_SOUNDS });
  }
  const window = { from: args.from, to: args.to, modelVersion: args.modelVersion, minCount: args.minCount, first: MAX_SOUNDS };
  const [a, b] = await Promise.all([
    ctx.loaders.analytics.weakSounds(c.aId, window),
    ctx.loaders.analytics.weakSounds(c.bId, window),
  ]);
  const ofB = new Map(b.map((s) => [s.phoneme, s]));
  return a
    .flatMap((sa) => {
      const sb = ofB.get(sa.phoneme);
      return sb ? [{ phoneme: sa.phoneme, ipa: sa.ipa, a: sa, b: sb, errorRateDifference: sb.errorRate - sa.errorRate }] : [];
    })
    .sort((x, y) => Math.abs(y.errorRateDifference) - Math.abs(x.errorRateDifference) || (x.phoneme < y.phoneme ? -1 : 1))
    .slice(0, first);
};
