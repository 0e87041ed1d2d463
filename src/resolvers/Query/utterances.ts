import type { QueryResolvers } from '../../generated/graphql.js';
import { pageArgs } from '../../graphql/pagination.js';
import { checkUtteranceFilter } from '../../graphql/utterance-filter.js';

/** The organisation's utterances, newest first, filtered; SCORES_READ (the loader checks). */
export const utterances: QueryResolvers['utterances'] = (_parent, args, ctx, info) =>
  ctx.loaders.allUtterancesPage(pageArgs({ ...args, filter: checkUtteranceFilter(args.filter) }, info));
