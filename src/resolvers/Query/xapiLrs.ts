import type { QueryResolvers } from '../../generated/graphql.js';

/** ADMIN (the loader checks). */
export const xapiLrs: QueryResolvers['xapiLrs'] = (_parent, _args, ctx) => ctx.loaders.xapiLrs();
