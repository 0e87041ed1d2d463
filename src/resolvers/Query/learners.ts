import type { QueryResolvers } from '../../generated/graphql.js';

export const learners: QueryResolvers['learners'] = (_parent, args, ctx) => ctx.loaders.learnersPage(args);
