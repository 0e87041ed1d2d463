import type { BulkOperationResolvers } from '../../generated/graphql.js';
import { bulkProgress } from '../../assessment/bulk.js';

export const progress: BulkOperationResolvers['progress'] = async (op, _args, ctx) =>
  bulkProgress(op, await ctx.loaders.bulkJobCounts.load(op.id));
