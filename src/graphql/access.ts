/**
 * Access policy. Enforced where data is loaded, not only at the door: the per-request loaders
 * (loaders.ts) are created for the caller's principal, and every loader that returns learner data
 * or scores checks the key's scope itself when loading. Whatever path a query takes (an entry
 * field, a mutation payload, `node(id)`, a connection, a relation several levels down), it reaches
 * data only through those loaders, so the same rule applies everywhere.
 *
 * - Tenant. Every loader is bound to the key's organisation: an id of another organisation loads
 *   as null (NOT_FOUND where a mutation names it), for every key, ADMIN included.
 * - ADMIN implies every other scope, and alone reaches the admin things: API keys (list, create,
 *   revoke, rotate), the audit log, erasing a learner, trust analytics (`rationaleAnalytics`), the
 *   review queue (`flaggedAssessments`) and its verdicts (`reviewRationale`, `Rationale.review`,
 *   `reviewedAssessments`), attaching human labels, the LMS configuration (webhook endpoints and
 *   their deliveries, LTI platforms, the LRS and its statement deliveries; listing and re-sending
 *   grade deliveries), and the deployment's inference workers (`workers`: shared by every
 *   organisation, they carry no tenant data).
 * - SCORES_READ reads all learner data of the organisation: learners, utterances (reference text,
 *   audio facts), jobs (including their error and the model's raw output), assessments and
 *   everything in them (sentence/word/phoneme scores, rationales and their checks, human labels,
 *   agreement with them), and where an assessment's scores went: its grade deliveries and their line
 *   items (`Assessment.gradeDeliveries`, and `node(id)` of either; lists of them are ADMIN's).
 * - ASSESS_WRITE creates learners, submits utterances and re-assesses them. Without SCORES_READ it
 *   sees only the objects its own mutation returns, field by field as it wrote them: the Learner
 *   createLearner made, the Utterance and Job submitUtterance made (or replays), the Job
 *   reassessUtterance queued (id, status, attempts, times), the BulkOperation reassessUtterances
 *   started or cancelBulkOperation cancelled (what was asked: its selection and options, when; not
 *   its progress, status, completedAt or cancelledAt: how many utterances a selection matched is
 *   learner data, an empty selection completes at once, and varying `since` would date a learner's
 *   practice). Every relation
 *   from those objects is loaded, so it is refused: the learner behind an utterance, an utterance's
 *   jobs or assessments, a job's utterance, assessment or error, a learner's utterances. It cannot
 *   poll `job(id)`. updateLearner changes a learner that existed before: of it, such a key reads back
 *   the id and the fields its input set (`asWritten`), not the rest of the row.
 * - Any key sees `viewer` (its organisation and scopes) and `model` (the bundle served).
 *
 * A refused field is FORBIDDEN ("This API key lacks the SCORES_READ scope."); a nullable field
 * reads as null next to that error, a non-null one nulls its parent as GraphQL prescribes.
 * tests/api/access-generated.test.ts walks every field path of the schema with every combination
 * of scopes (and another organisation's ADMIN key) against this policy.
 */
import type { RequestContext } from './context.js';
import type { Loaders, ScopedLoader } from './loaders.js';
import { holdsScope, requireScope } from './auth.js';
import { badInput } from '../errors.js';
import { fromGlobalId, type NodeType } from './ids.js';

const LOADER = { Learner: 'learner', Utterance: 'utterance', Job: 'job', Assessment: 'assessment', BulkOperation: 'bulkOperation' } as const;
type Loadable = keyof typeof LOADER;
type Row<T extends Loadable> = NonNullable<Awaited<ReturnType<Loaders[(typeof LOADER)[T]]['load']>>>;

function isLoadable(type: NodeType): type is Loadable {
  return type in LOADER;
}

/** Load a tenant-scoped row by database id; reading needs SCORES_READ (the loader checks it). */
export async function loadVisible<T extends Loadable>(ctx: RequestContext, type: T, id: string): Promise<Row<T> | null> {
  const loader = ctx.loaders[LOADER[type]] as unknown as ScopedLoader<string, Row<T> | null>;
  return loader.load(id);
}

/**
 * The other Node types, each through the loader its own entry points use, so with the scope its type
 * needs (the loader checks it before reading): admin configuration and logs (ADMIN); a line item and
 * a grade delivery, read with the scores they carry (SCORES_READ).
 */
const OWN_LOADER = {
  ApiKey: (l: Loaders) => l.apiKey,
  AuditEvent: (l: Loaders) => l.auditEvent,
  WebhookEndpoint: (l: Loaders) => l.webhookEndpoint,
  WebhookDelivery: (l: Loaders) => l.webhookDelivery,
  LtiPlatform: (l: Loaders) => l.ltiPlatform,
  LtiLineItem: (l: Loaders) => l.ltiLineItem,
  GradeDelivery: (l: Loaders) => l.gradeDeliveryNode,
  XapiDelivery: (l: Loaders) => l.xapiDelivery,
} satisfies Partial<Record<NodeType, (l: Loaders) => ScopedLoader<string, object | null>>>;

function hasOwnLoader(type: NodeType): type is keyof typeof OWN_LOADER {
  return type in OWN_LOADER;
}

/**
 * Any node by global id: a malformed, foreign or unknown id reads as null. Learner data goes through
 * the scoped loaders; the key's own Organization reads as `viewer.organization` does (any key); the
 * other types as their own entry points read them (OWN_LOADER).
 */
export async function loadNode(ctx: RequestContext, globalId: string) {
  const parsed = fromGlobalId(globalId);
  if (parsed?.type === 'Organization') {
    return parsed.id === ctx.principal.organizationId ? { ...(await ctx.loaders.organization()), __typename: 'Organization' as const } : null;
  }
  if (parsed && hasOwnLoader(parsed.type)) {
    const row = await OWN_LOADER[parsed.type](ctx.loaders).load(parsed.id);
    return row ? { ...row, __typename: parsed.type } : null;
  }
  if (!parsed || !isLoadable(parsed.type)) {
    // Same answer whatever the id: a key that may not read learns nothing from which ids parse.
    requireScope(ctx.principal, 'SCORES_READ');
    return null;
  }
  const row = await loadVisible(ctx, parsed.type, parsed.id);
  return row ? { ...row, __typename: parsed.type } : null;
}

/** Lookup by global id for the top-level fields; an id of another type reads as null. */
export async function findByGlobalId<T extends Loadable>(ctx: RequestContext, type: T, globalId: string): Promise<Row<T> | null> {
  const parsed = fromGlobalId(globalId);
  if (!parsed || parsed.type !== type) {
    requireScope(ctx.principal, 'SCORES_READ');
    return null;
  }
  return loadVisible(ctx, type, parsed.id);
}

/** At most this many ids per `nodes(ids)` call. */
export const MAX_NODE_IDS = 100;

/**
 * `nodes(ids)`: each id as `loadNode` answers it, in the order asked (the loaders batch the reads,
 * one statement per type). A key that may not read learner data is refused once, whatever the ids.
 * Each item is its own promise, not one Promise.all: an id refused on its own (an ApiKey to a key
 * without ADMIN) is null with its error at `nodes[i]`, and the others still answer.
 */
export function loadNodes(ctx: RequestContext, globalIds: readonly string[]) {
  if (globalIds.length > MAX_NODE_IDS) {
    throw badInput(`nodes takes at most ${MAX_NODE_IDS} ids (got ${globalIds.length}).`, 'ids', { max: MAX_NODE_IDS });
  }
  requireScope(ctx.principal, 'SCORES_READ');
  return globalIds.map((id) => loadNode(ctx, id));
}

/** The fields of a row that this request wrote, on the row a mutation returns (see asWritten). */
const WRITTEN_FIELDS = Symbol('fields written by this request');
type Written<T> = T & { [WRITTEN_FIELDS]?: ReadonlySet<string> };

/**
 * A row a mutation changed but did not create, as a key without SCORES_READ may read it back: the
 * fields it wrote (`fields`), nothing else (readWritten refuses the rest). A key that may read
 * learner data gets the row as it is.
 */
export function asWritten<T extends object>(ctx: RequestContext, row: T, fields: readonly (keyof T & string)[]): T {
  if (holdsScope(ctx.principal, 'SCORES_READ')) return row;
  return { ...row, [WRITTEN_FIELDS]: new Set<string>(fields) };
}

/** A field of a row: refused (SCORES_READ) when the row is asWritten's and this field was not written. */
export function readWritten<T extends object, K extends keyof T & string>(ctx: RequestContext, row: T, field: K): T[K] {
  const written = (row as Written<T>)[WRITTEN_FIELDS];
  if (written && !written.has(field)) requireScope(ctx.principal, 'SCORES_READ');
  return row[field];
}
