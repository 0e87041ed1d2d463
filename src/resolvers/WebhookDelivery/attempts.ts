import type { WebhookDeliveryResolvers } from '../../generated/graphql.js';

/** First to last, batched across deliveries. */
export const attempts: WebhookDeliveryResolvers['attempts'] = (delivery, _args, ctx) => ctx.loaders.attemptsByDelivery.load(delivery.id);
