import type { JobResolvers } from '../../generated/graphql.js';

export const assessment: JobResolvers['assessment'] = (job, _args, ctx) =>
  job.status === 'SUCCEEDED' ? ctx.loaders.assessmentByJob.load(job.id) : null;
