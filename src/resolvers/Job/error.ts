import type { JobResolvers } from '../../generated/graphql.js';

export const error: JobResolvers['error'] = (job) =>
  job.errorCode ? { code: job.errorCode, message: job.errorMessage ?? '', rawOutput: job.rawOutput } : null;
