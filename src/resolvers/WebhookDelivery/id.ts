import type { WebhookDeliveryResolvers } from '../../generated/graphql.js';
import { toGlobalId } from '../../graphql/ids.js';

export const id: WebhookDeliveryResolvers['id'] = (delivery) => toGlobalId('WebhookDelivery', delivery.id);
