import type { WebhookDeliveryResolvers } from '../../generated/graphql.js';

export const endpoint: WebhookDeliveryResolvers['endpoint'] = async (delivery, _args, ctx) => {
  const row = await ctx.loaders.webhookEndpoint.load(delivery.webhookEndpointId!);
  if (!row) throw new Error(`delivery ${delivery.id} has no endpoint`); // deleted together (cascade)
  return row;
};
