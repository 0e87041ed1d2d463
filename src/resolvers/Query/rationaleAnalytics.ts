import type { QueryResolvers } from '../../generated/graphql.js';

/** ADMIN; the loader checks it. */
export const rationaleAnalytics: QueryResolvers['rationaleAnalytics'] = (_parent, { modelVersion }, ctx) =>
  ctx.loaders.trustStats(modelVersion);
