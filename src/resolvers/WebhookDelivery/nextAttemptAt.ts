import type { WebhookDeliveryResolvers } from '../../generated/graphql.js';

export const nextAttemptAt: WebhookDeliveryResolvers['nextAttemptAt'] = (delivery) => (delivery.status === 'PENDING' ? delivery.runAfter : null);
