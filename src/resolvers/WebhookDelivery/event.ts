import type { WebhookDeliveryResolvers } from '../../generated/graphql.js';

export const event: WebhookDeliveryResolvers['event'] = async (delivery, _args, ctx) => {
  const row = await ctx.loaders.outboxEvent.load(delivery.eventId);
  if (!row) throw new Error(`delivery ${delivery.id} has no event`); // deleted together (cascade)
  return row;
};
