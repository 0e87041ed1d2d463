import type { AuditEventResolvers } from '../../generated/graphql.js';
import { toGlobalId } from '../../graphql/ids.js';

/** The acting key's global id; null for command-line actions. */
export const actorApiKeyId: AuditEventResolvers['actorApiKeyId'] = (event) =>
  event.actorApiKeyId ? toGlobalId('ApiKey', event.actorApiKeyId) : null;
