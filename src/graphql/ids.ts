import { AppError } from '../errors.js';

/** Relay global ids: base64url("Type:uuid"), so `node(id)` can tell the type without a lookup. */
export type NodeType =
  | 'Learner' | 'Utterance' | 'Job' | 'Assessment' | 'Organization' | 'ApiKey' | 'AuditEvent' | 'WebhookEndpoint' | 'WebhookDelivery'
  | 'LtiPlatform' | 'LtiLineItem' | 'GradeDelivery' | 'XapiDelivery'
  | 'BulkOperation';
const NODE_TYPES: readonly NodeType[] = [
  'Learner', 'Utterance', 'Job', 'Assessment', 'Organization', 'ApiKey', 'AuditEvent', 'WebhookEndpoint', 'WebhookDelivery',
  'LtiPlatform', 'LtiLineItem', 'GradeDelivery', 'XapiDelivery', 'BulkOperation',
];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A database id as ours are written (lower-case UUID): anything else names no row, and must not reach a uuid column. */
export function isUuid(id: string): boolean {
  return UUID.test(id);
}

export function toGlobalId(type: NodeType, id: string): string {
  return Buffer.from(`${type}:${id}`).toString('base64url');
}

/**
 * The type and database id of a global id, or null. Only the exact form toGlobalId writes is an
 * id: Node's contract is that `node(id: X).id` is X, and Buffer's decoder would also take padding,
 * whitespace, the standard alphabet and text after the uuid, so one object would have many ids
 * (and clients that cache by id, many records).
 */
export function fromGlobalId(globalId: string): { type: NodeType; id: string } | null {
  const decoded = Buffer.from(globalId, 'base64url').toString('utf8');
  const colon = decoded.indexOf(':');
  const type = decoded.slice(0, colon) as NodeType;
  const id = decoded.slice(colon + 1);
  if (colon < 0 || !NODE_TYPES.includes(type) || !UUID.test(id)) return null;
  if (toGlobalId(type, id) !== globalId) return null;
  return { type, id };
}

/** The database id behind a global id of the expected type; a wrong or foreign id is NOT_FOUND. */
export function expectGlobalId(globalId: string, type: NodeType): string {
  const parsed = fromGlobalId(globalId);
  if (!parsed || parsed.type !== type) throw new AppError('NOT_FOUND', `No ${type} with id "${globalId}".`);
  return parsed.id;
}
