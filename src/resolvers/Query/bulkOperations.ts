import type { QueryResolvers } from '../../generated/graphql.js';
import { pageArgs } from '../../graphql/pagination.js';

/** Newest first, filtered by status, learner and group. SCORES_READ (the loader checks). */
export const bulkOperations: QueryResolvers['bulkOperations'] = (_parent, args, ctx, info) => ctx.loaders.bulkOperationsPage(pageArgs(args, info));
