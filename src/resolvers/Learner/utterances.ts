import type { LearnerResolvers } from '../../generated/graphql.js';

/** Newest first, keyset-paginated; the loader checks the key may read them. */
export const utterances: LearnerResolvers['utterances'] = (learner, args, ctx) =>
  ctx.loaders.utterancesPage(learner.id, args);
