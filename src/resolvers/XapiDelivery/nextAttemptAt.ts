import type { XapiDeliveryResolvers } from '../../generated/graphql.js';

export const nextAttemptAt: XapiDeliveryResolvers['nextAttemptAt'] = (delivery) => (delivery.status === 'PENDING' ? delivery.runAfter : null);
