import type { WebhookEndpointResolvers } from '../../generated/graphql.js';

export const enabled: WebhookEndpointResolvers['enabled'] = (endpoint) => endpoint.disabledAt === null;
