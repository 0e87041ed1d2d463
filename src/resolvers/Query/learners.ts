import type { QueryResolvers } from '../../generated/graphql.js';
import { pageArgs } from '../../graphql/pagination.js';

/** Newest first on the (organizationId, createdAt, id) index; by group (GIN index) and search. */
export const learners: QueryResolvers['learners'] = (_parent, args, ctx, info) => ctx.loaders.learnersPage(pageArgs(args, info));
