import type { BulkOperationResolvers } from '../../generated/graphql.js';
import { bulkProgress, bulkStatus } from '../../assessment/bulk.js';

export const status: BulkOperationResolvers['status'] = async (op, _args, ctx) =>
  bulkStatus(op, bulkProgress(op, await ctx.loaders.bulkJobCounts.load(op.id)));
