import type { GradeDeliveryResolvers } from '../../generated/graphql.js';

/** The failed job a FAILED score reports, through the scoped job loader; null for the score of an assessment. */
export const job: GradeDeliveryResolvers['job'] = async (delivery, _args, ctx) => {
  const { jobId } = delivery.ltiScore;
  if (jobId === null) return null;
  const row = await ctx.loaders.job.load(jobId);
  if (!row) throw new Error(`job ${jobId} of delivery ${delivery.id} is missing`); // a foreign key holds it
  return row;
};
