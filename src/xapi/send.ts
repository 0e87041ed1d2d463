/**
 * One finished assessment to a Learning Record Store: read it, build its statement, POST it. Every
 * attempt rebuilds the same statement (same id), so retries and re-sends never make a second copy
 * in the LRS; what it reads from settings that can change (the account home page, the IRI base) is
 * the event's frozen identity (./identity.ts), so the statement rebuilt is the one sent before.
 * `attemptXapiStatement` is the outbox's XAPI channel: one attempt of a delivery that
 * assessment.completed wrote (queueXapiStatement, in the completing transaction), through the
 * outbox's guarded HTTP client.
 */
import type { Prisma, PrismaClient } from '../generated/prisma/client.js';
import type { XapiConfig } from '../config.js';
import { fromGlobalId } from '../graphql/ids.js';
import type { AddressPolicy } from '../outbox/address-policy.js';
import { getForAnswer, postForAnswer } from '../outbox/http.js';
import { retryOrFail, type RetrySchedule } from '../outbox/schedule.js';
import type { AttemptRecord, AttemptVerdict, ClaimedDelivery } from '../outbox/store.js';
import { loadStatementSource } from './load.js';
import { sendStatement, type Fetch, type LrsConfig, type LrsOutcome } from './lrs.js';
import { buildStatement } from './statement.js';
import { freezeAsStored, freezeAtQueue, frozenIdentity, identityAtQueue, type XapiIdentity } from './identity.js';
import { sendVoiding, VOIDING_EVENT_TYPES } from './voiding.js';

export type SendOutcome = LrsOutcome | { kind: 'gone'; reason: string };

export async function sendAssessmentStatement(
  prisma: PrismaClient,
  xapi: XapiConfig & { lrs: LrsConfig },
  organizationId: string,
  assessmentId: string,
  options: { fetch?: Fetch; timeoutMs?: number; signal?: AbortSignal } = {},
  identity: XapiIdentity | null = null,
  /** The event whose statement this is: one without a frozen identity freezes the build the LRS is found to hold. */
  eventId: string | null = null,
): Promise<SendOutcome> {
  const source = await loadStatementSource(prisma, organizationId, assessmentId);
  // Erased since (learner erasure deletes the rows): nothing left to report, and nothing to retry.
  if (!source) return { kind: 'gone', reason: 'the assessment no longer exists' };
  // Frozen when queued (./identity.ts): not the organisation's home page now, which an admin may have changed since.
  if (identity) return sendStatement(xapi.lrs, buildStatement(identity, { ...source, accountHomePage: identity.accountHomePage }), options);
  // No snapshot (queued before there were any): built from the live settings. Its first attempt may
  // have been made by a version whose statements did not carry the metadata extension yet, so the
  // LRS may hold that build: a 409 read back equal to it is ours, and that build is frozen.
  const live: XapiIdentity = { iriBase: xapi.iriBase, accountHomePage: source.accountHomePage ?? xapi.accountHomePage, metadata: true };
  const earlier = Object.keys(source.metadata).length > 0
    ? [{ statement: buildStatement({ ...live, metadata: false }, source), lacking: 'without the metadata extension' }]
    : [];
  const outcome = await sendStatement(xapi.lrs, buildStatement(live, source), options, earlier);
  if (eventId && outcome.kind === 'delivered' && outcome.earlierBuild === 0) await freezeAsStored(prisma, eventId, { ...live, metadata: false });
  return outcome;
}

/** The LRS an organisation's statements go to: its own (set by an admin), else the server's, else none. */
export async function lrsFor(db: PrismaClient | Prisma.TransactionClient, organizationId: string, serverLrs: LrsConfig | null): Promise<LrsConfig | null> {
  const own = await db.xapiLrs.findUnique({ where: { organizationId } });
  return own ? { endpoint: own.endpoint, username: own.username, password: own.password } : serverLrs;
}

/**
 * In the completing transaction, after the assessment.completed event (`eventId`): an XAPI
 * delivery when the organisation has a Learning Record Store (its own, or the server's), and the
 * statement's identity frozen on the event (the organisation's account home page now: ./identity.ts).
 */
export async function queueXapiStatement(
  tx: Prisma.TransactionClient,
  event: { organizationId: string; eventId: string },
  serverLrs: LrsConfig | null,
): Promise<boolean> {
  if (!(await lrsFor(tx, event.organizationId, serverLrs))) return false;
  await freezeAtQueue(tx, event.eventId, await identityAtQueue(tx, event.organizationId));
  await tx.delivery.create({ data: { organizationId: event.organizationId, eventId: event.eventId, channel: 'XAPI' } });
  return true;
}

export interface XapiChannelDeps {
  prisma: PrismaClient;
  xapi: XapiConfig;
  policy: AddressPolicy;
  timeoutMs: number;
  schedule: RetrySchedule;
  random?: () => number;
}

/** A stored statement read back is kept whole up to this size (one statement: a few kB to tens of kB). */
const MAX_READ_BACK_BYTES = 1024 * 1024;

/** The outbox's guarded POST and GET as the fetch sendStatement takes (it throws OutboundError when no answer came). */
function guardedFetch(policy: AddressPolicy, timeoutMs: number): Fetch {
  return async (url, init) => {
    const options = { policy, timeoutMs, signal: init.signal, userAgent: 'speechmark-xapi/1' };
    const answer = init.method === 'GET'
      // One byte over the limit shows a cut answer, which then does not parse and is not compared.
      ? await getForAnswer(url, init.headers, { ...options, keepBytes: MAX_READ_BACK_BYTES + 1 })
      : await postForAnswer(url, init.headers, init.body ?? '', options);
    return { status: answer.status, text: async () => answer.text, headers: { get: (name: string) => headerValue(answer.headers[name.toLowerCase()]) } };
  };
}

function headerValue(v: string | string[] | undefined): string | null {
  return (Array.isArray(v) ? v[0] : v) ?? null;
}

/** The assessment an assessment.completed body is about. */
export function assessmentIdOf(body: string): string | null {
  const id = (JSON.parse(body) as { data?: { assessment?: { id?: unknown } } }).data?.assessment?.id;
  const parsed = typeof id === 'string' ? fromGlobalId(id) : null;
  return parsed?.type === 'Assessment' ? parsed.id : null;
}

/**
 * One attempt of a claimed XAPI delivery: 200/204 delivered, and a 409 whose stored statement is
 * ours (or cannot be read back); 408, 429, 5xx and no answer retried; another statement stored
 * under our id (STATEMENT_CONFLICT) and other answers fail.
 */
export async function attemptXapiStatement(
  deps: XapiChannelDeps,
  d: ClaimedDelivery,
  signal: AbortSignal,
  /** The worker's lease renewal (src/outbox/worker.ts KeepAlive), for a voiding attempt's many requests. */
  keepAlive?: () => Promise<boolean>,
): Promise<AttemptRecord> {
  const startedAt = new Date();
  const started = performance.now();
  const record = (verdict: AttemptVerdict, statusCode: number | null, errorCode: string | null, error: string | null): AttemptRecord => ({
    verdict, startedAt, durationMs: Math.round(performance.now() - started), statusCode, errorCode, error, responseBody: null,
  });
  const event = await deps.prisma.outboxEvent.findUnique({ where: { id: d.eventId }, select: { id: true, type: true, body: true, createdAt: true, xapiIdentity: true } });
  const voids = event !== null && VOIDING_EVENT_TYPES.has(event.type);
  const assessmentId = event && !voids ? assessmentIdOf(event.body) : null;
  if (!voids && !assessmentId) return record({ kind: 'failed' }, null, 'ASSESSMENT_DELETED', 'The event or its assessment no longer exists.');
  const lrs = await lrsFor(deps.prisma, d.organizationId, deps.xapi.lrs);
  if (!lrs) return record({ kind: 'failed' }, null, 'LRS_NOT_CONFIGURED', 'The organisation has no Learning Record Store any more.');
  const options = { fetch: guardedFetch(deps.policy, deps.timeoutMs), timeoutMs: deps.timeoutMs, signal };
  // Before anything is sent: the settings every attempt of this event builds from (./identity.ts).
  const identity = await frozenIdentity(deps.prisma, event!, deps.xapi);
  // An erasure's or a deletion's event voids the statements sent about what went (./voiding.ts).
  const outcome = voids
    ? await sendVoiding(deps.prisma, identity ?? deps.xapi, lrs, event!, { ...options, keepAlive })
    : await sendAssessmentStatement(deps.prisma, { ...deps.xapi, lrs }, d.organizationId, assessmentId!, options, identity, event!.id);
  switch (outcome.kind) {
    case 'delivered':
      return record({ kind: 'delivered' }, outcome.status, null, outcome.note ?? null);
    case 'gone':
      return record({ kind: 'failed' }, null, 'ASSESSMENT_DELETED', outcome.reason);
    case 'rejected':
      return record({ kind: 'failed' }, outcome.status, 'HTTP_STATUS', outcome.reason);
    case 'conflict':
      return record({ kind: 'failed' }, outcome.status, 'STATEMENT_CONFLICT', outcome.reason);
    case 'retry':
      if (signal.aborted) return record({ kind: 'release' }, null, 'ABORTED', outcome.reason);
      if (outcome.errorCode === 'ADDRESS_NOT_ALLOWED') return record({ kind: 'failed' }, null, outcome.errorCode, outcome.reason);
      return record(retryOrFail(d.attempts, deps.schedule, null, deps.random), outcome.status, outcome.errorCode ?? (outcome.status ? 'HTTP_STATUS' : 'CONNECTION_FAILED'), outcome.reason);
  }
}
