import type { GradeDeliveryResolvers } from '../../generated/graphql.js';

export const lineItem: GradeDeliveryResolvers['lineItem'] = async (delivery, _args, ctx) => {
  const item = await ctx.loaders.ltiLineItem.load(delivery.ltiScore.lineItemId);
  if (!item) throw new Error(`line item ${delivery.ltiScore.lineItemId} of delivery ${delivery.id} is missing`); // a foreign key holds it
  return item;
};
