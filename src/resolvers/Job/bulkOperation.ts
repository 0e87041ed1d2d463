import type { JobResolvers } from '../../generated/graphql.js';

/** Through the bulkOperation loader (SCORES_READ); a job queued otherwise reads nothing. */
export const bulkOperation: JobResolvers['bulkOperation'] = async (job, _args, ctx) =>
  job.bulkOperationId ? ctx.loaders.bulkOperation.load(job.bulkOperationId) : null;
