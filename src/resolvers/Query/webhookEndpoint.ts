import type { QueryResolvers } from '../../generated/graphql.js';
import { requireScope } from '../../graphql/auth.js';
import { fromGlobalId } from '../../graphql/ids.js';

/** ADMIN; an id of another type, another organisation or none reads as null. */
export const webhookEndpoint: QueryResolvers['webhookEndpoint'] = (_parent, { id }, ctx) => {
  const parsed = fromGlobalId(id);
  if (parsed?.type !== 'WebhookEndpoint') {
    requireScope(ctx.principal, 'ADMIN');
    return null;
  }
  return ctx.loaders.webhookEndpoint.load(parsed.id);
};
