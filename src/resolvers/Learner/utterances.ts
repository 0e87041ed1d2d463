import type { LearnerResolvers } from '../../generated/graphql.js';
import { pageArgs } from '../../graphql/pagination.js';
import { checkUtteranceFilter } from '../../graphql/utterance-filter.js';

/**
 * Newest first, keyset-paginated and filtered; the loader checks the key may read them. Bad filters
 * are refused here, not in the loader, whose batch serves other learners' pages too.
 */
export const utterances: LearnerResolvers['utterances'] = (learner, args, ctx, info) =>
  ctx.loaders.utterancesPage(learner.id, pageArgs({ ...args, filter: checkUtteranceFilter(args.filter) }, info));
