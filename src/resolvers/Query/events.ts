import type { QueryResolvers } from '../../generated/graphql.js';
import { pageArgs } from '../../graphql/pagination.js';

/** Newest first, filtered by type, learner and time. SCORES_READ (the loader checks). */
export const events: QueryResolvers['events'] = (_parent, args, ctx, info) => ctx.loaders.eventsPage(pageArgs(args, info));
