import type { XapiDeliveryResolvers } from '../../generated/graphql.js';

/** First to last, batched across deliveries (the loader is admin-only). */
export const attemptLog: XapiDeliveryResolvers['attemptLog'] = (delivery, _args, ctx) => ctx.loaders.attemptsByDelivery.load(delivery.id);
