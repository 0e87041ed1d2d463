import type { WebhookEventResolvers } from '../../generated/graphql.js';

export const payload: WebhookEventResolvers['payload'] = (event) => JSON.parse(event.body) as unknown;
