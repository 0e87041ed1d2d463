import type { JobResolvers } from '../../generated/graphql.js';
import { requireScope } from '../../graphql/auth.js';

/**
 * Part of the job row, so no loader stands in between: the error can carry the model's raw output
 * (scores), so it needs SCORES_READ like the assessment would, whether or not the job failed.
 */
export const error: JobResolvers['error'] = (job, _args, ctx) => {
  requireScope(ctx.principal, 'SCORES_READ');
  return job.errorCode ? { code: job.errorCode, message: job.errorMessage ?? '', rawOutput: job.rawOutput } : null;
};
