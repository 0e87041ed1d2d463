import type { WebhookDeliveryResolvers } from '../../generated/graphql.js';

export const attemptCount: WebhookDeliveryResolvers['attemptCount'] = (delivery) => delivery.attempts;
