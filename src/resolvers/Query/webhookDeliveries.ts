import type { QueryResolvers } from '../../generated/graphql.js';
import { pageArgs } from '../../graphql/pagination.js';

/** Newest first, filtered by endpoint, status, event type or webhook-id. ADMIN (the loader checks). */
export const webhookDeliveries: QueryResolvers['webhookDeliveries'] = (_parent, args, ctx, info) =>
  ctx.loaders.webhookDeliveriesPage(pageArgs(args, info));
