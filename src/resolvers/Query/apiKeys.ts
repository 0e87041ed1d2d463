import type { QueryResolvers } from '../../generated/graphql.js';

/** Newest first on the (organizationId, createdAt, id) index; revoked keys only when asked. ADMIN (the loader checks). */
export const apiKeys: QueryResolvers['apiKeys'] = (_parent, args, ctx) => ctx.loaders.apiKeysPage(args);
