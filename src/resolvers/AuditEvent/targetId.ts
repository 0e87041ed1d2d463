import type { AuditEventResolvers } from '../../generated/graphql.js';
import { fromGlobalId, toGlobalId, type NodeType } from '../../graphql/ids.js';

/** Stored as the database id; served as the global id of `targetType`. */
export const targetId: AuditEventResolvers['targetId'] = (event) => {
  if (!event.targetId) return null;
  const type = event.targetType as NodeType;
  const id = toGlobalId(type, event.targetId);
  return fromGlobalId(id) ? id : event.targetId;
};
