import type { QueryResolvers } from '../../generated/graphql.js';

/** ADMIN (the loader checks). An organisation has a handful of platforms: a list, not a connection. */
export const ltiPlatforms: QueryResolvers['ltiPlatforms'] = (_parent, _args, ctx) => ctx.loaders.ltiPlatformsList();
