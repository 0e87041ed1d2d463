import type { QueryResolvers } from '../../generated/graphql.js';
import { pageArgs } from '../../graphql/pagination.js';

/** Newest first, filtered by line item, status or LMS user. ADMIN (the loader checks). */
export const gradeDeliveries: QueryResolvers['gradeDeliveries'] = (_parent, args, ctx, info) =>
  ctx.loaders.gradeDeliveriesPage(pageArgs(args, info));
