import { AppError } from '../errors.js';

/** Relay global ids: base64url("Type:uuid"), so `node(id)` can tell the type without a lookup. */
export type NodeType =
  | 'Learner' | 'Utterance' | 'Job' | 'Assessment' | 'Organization' | 'ApiKey' | 'AuditEvent' | 'WebhookEndpoint' | 'WebhookDelivery'
  // LTI grade passback: not Node implementations (`node(id)` reads them as null), global ids all the same.
  | 'LtiPlatform' | 'LtiLineItem'
  | 'BulkOperation';
const NODE_TYPES: readonly NodeType[] = [
  'Learner', 'Utterance', 'Job', 'Assessment', 'Organization', 'ApiKey', 'AuditEvent', 'WebhookEndpoint', 'WebhookDelivery',
  'LtiPlatform', 'LtiLineItem', 'BulkOperation',
];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function toGlobalId(type: NodeType, id: string): string {
  return Buffer.from(`${type}:${id}`).toString('base64url');
}

export function fromGlobalId(globalId: string): { type: NodeType; id: string } | null {
  const decoded = Buffer.from(globalId, 'base64url').toString('utf8');
  const [type, id] = decoded.split(':');
  if (!NODE_TYPES.includes(type as NodeType) || !id || !UUID.test(id)) return null;
  return { type: type as NodeType, id };
}

/** The database id behind a global id of the expected type; a wrong or foreign id is NOT_FOUND. */
export function expectGlobalId(globalId: string, type: NodeType): string {
  const parsed = fromGlobalId(globalId);
  if (!parsed || parsed.type !== type) throw new AppError('NOT_FOUND', `No ${type} with id "${globalId}".`);
  return parsed.id;
}
