import type { LearnerResolvers } from '../../generated/graphql.js';
import { pageArgs } from '../../graphql/pagination.js';
import { checkRange } from '../../analytics/common.js';
import { checkMetadata } from '../../assessment/metadata.js';

/**
 * Newest first, keyset-paginated and filtered; the loader checks the key may read them. An inverted
 * date range is refused here, not in the loader, whose batch serves other learners' pages too.
 */
export const utterances: LearnerResolvers['utterances'] = (learner, args, ctx, info) => {
  checkRange(args.filter?.createdAfter, args.filter?.createdBefore, ['filter.createdAfter', 'filter.createdBefore']);
  if (args.filter?.metadata != null) args = { ...args, filter: { ...args.filter, metadata: checkMetadata(args.filter.metadata, 'filter.metadata') } };
  return ctx.loaders.utterancesPage(learner.id, pageArgs(args, info));
};
