import type { WebhookEndpointResolvers } from '../../generated/graphql.js';

/** The secrets valid now, newest first (batched across endpoints). */
export const signingSecrets: WebhookEndpointResolvers['signingSecrets'] = (endpoint, _args, ctx) =>
  ctx.loaders.signingSecretsByEndpoint.load(endpoint.id);
