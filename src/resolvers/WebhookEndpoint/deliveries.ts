import type { WebhookEndpointResolvers } from '../../generated/graphql.js';
import { pageArgs } from '../../graphql/pagination.js';

export const deliveries: WebhookEndpointResolvers['deliveries'] = (endpoint, args, ctx, info) =>
  ctx.loaders.webhookDeliveriesPage({
    ...pageArgs(args, info),
    filter: { endpointDbId: endpoint.id, ...(args.status != null ? { status: args.status } : {}) },
  });
