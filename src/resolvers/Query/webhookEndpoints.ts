import type { QueryResolvers } from '../../generated/graphql.js';
import { pageArgs } from '../../graphql/pagination.js';

/** Newest first on the (organizationId, createdAt, id) index. ADMIN (the loader checks). */
export const webhookEndpoints: QueryResolvers['webhookEndpoints'] = (_parent, args, ctx, info) =>
  ctx.loaders.webhookEndpointsPage(pageArgs(args, info));
