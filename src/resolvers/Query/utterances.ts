import type { QueryResolvers } from '../../generated/graphql.js';
import { pageArgs } from '../../graphql/pagination.js';
import { checkRange } from '../../analytics/common.js';
import { checkMetadata } from '../../assessment/metadata.js';

/** The organisation's utterances, newest first, filtered; SCORES_READ (the loader checks). */
export const utterances: QueryResolvers['utterances'] = (_parent, args, ctx, info) => {
  checkRange(args.filter?.createdAfter, args.filter?.createdBefore, ['filter.createdAfter', 'filter.createdBefore']);
  if (args.filter?.metadata != null) args = { ...args, filter: { ...args.filter, metadata: checkMetadata(args.filter.metadata, 'filter.metadata') } };
  return ctx.loaders.allUtterancesPage(pageArgs(args, info));
};
