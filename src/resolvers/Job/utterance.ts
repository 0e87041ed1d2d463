import type { JobResolvers } from '../../generated/graphql.js';

export const utterance: JobResolvers['utterance'] = async (job, _args, ctx) =>
  (await ctx.loaders.utterance.load(job.utteranceId))!;
