import type { WebhookEventResolvers } from '../../generated/graphql.js';
import { webhookId } from '../../outbox/signing.js';

/** The webhook-id the receiver got. */
export const id: WebhookEventResolvers['id'] = (event) => webhookId(event.id);
