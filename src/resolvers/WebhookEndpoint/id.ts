import type { WebhookEndpointResolvers } from '../../generated/graphql.js';
import { toGlobalId } from '../../graphql/ids.js';

export const id: WebhookEndpointResolvers['id'] = (endpoint) => toGlobalId('WebhookEndpoint', endpoint.id);
