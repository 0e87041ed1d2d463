import type { QueryResolvers } from '../../generated/graphql.js';

/** Oldest first after a position, filtered by type, learner and time. SCORES_READ (the loader checks). */
export const eventFeed: QueryResolvers['eventFeed'] = (_parent, args, ctx) => ctx.loaders.eventFeed(args);
