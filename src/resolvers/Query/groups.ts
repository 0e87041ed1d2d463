import type { QueryResolvers } from '../../generated/graphql.js';
import { pageArgs } from '../../graphql/pagination.js';

/** By id, with learner counts. SCORES_READ (the loader checks). */
export const groups: QueryResolvers['groups'] = (_parent, args, ctx, info) => ctx.loaders.groupsPage(pageArgs(args, info));
