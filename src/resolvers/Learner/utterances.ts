import type { LearnerResolvers } from '../../generated/graphql.js';
import { pageArgs } from '../../graphql/pagination.js';

/** Newest first, keyset-paginated and filtered; the loader checks the key may read them. */
export const utterances: LearnerResolvers['utterances'] = (learner, args, ctx, info) =>
  ctx.loaders.utterancesPage(learner.id, pageArgs(args, info));
