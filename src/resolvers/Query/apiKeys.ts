import type { QueryResolvers } from '../../generated/graphql.js';
import { pageArgs } from '../../graphql/pagination.js';

/** Newest first on the (organizationId, createdAt, id) index; revoked keys only when asked. ADMIN (the loader checks). */
export const apiKeys: QueryResolvers['apiKeys'] = (_parent, args, ctx, info) => ctx.loaders.apiKeysPage(pageArgs(args, info));
