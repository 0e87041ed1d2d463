import type { QueryResolvers } from '../../generated/graphql.js';

export const viewer: QueryResolvers['viewer'] = (_parent, _args, { principal }) => principal;
