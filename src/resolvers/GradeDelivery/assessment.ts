import type { GradeDeliveryResolvers } from '../../generated/graphql.js';

/** Through the reading loader: an ADMIN key listing deliveries reads it, as SCORES_READ does. */
export const assessment: GradeDeliveryResolvers['assessment'] = async (delivery, _args, ctx) => {
  const row = await ctx.loaders.assessment.load(delivery.ltiScore.assessmentId);
  if (!row) throw new Error(`assessment ${delivery.ltiScore.assessmentId} of delivery ${delivery.id} is missing`); // a foreign key holds it
  return row;
};
