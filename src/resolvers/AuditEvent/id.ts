import type { AuditEventResolvers } from '../../generated/graphql.js';
import { toGlobalId } from '../../graphql/ids.js';

export const id: AuditEventResolvers['id'] = (event) => toGlobalId('AuditEvent', event.id);
