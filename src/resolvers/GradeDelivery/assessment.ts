import type { GradeDeliveryResolvers } from '../../generated/graphql.js';

/** Through the reading loader: an ADMIN key listing deliveries reads it, as SCORES_READ does. Null for a FAILED score (of a job). */
export const assessment: GradeDeliveryResolvers['assessment'] = async (delivery, _args, ctx) => {
  const { assessmentId } = delivery.ltiScore;
  if (assessmentId === null) return null;
  const row = await ctx.loaders.assessment.load(assessmentId);
  if (!row) throw new Error(`assessment ${assessmentId} of delivery ${delivery.id} is missing`); // a foreign key holds it
  return row;
};
