import type { QueryResolvers } from '../../generated/graphql.js';
import { pageArgs } from '../../graphql/pagination.js';

/** Newest first, by status, learner and time. ADMIN (the loader checks). */
export const xapiDeliveries: QueryResolvers['xapiDeliveries'] = (_parent, args, ctx, info) =>
  ctx.loaders.xapiDeliveriesPage(pageArgs(args, info));
