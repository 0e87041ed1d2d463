/**
 * Erasure reaches the Learning Record Store: when a learner is erased (or one recording deleted),
 * the statements speechmark sent about their assessments are voided (xAPI 1.0.3 §2.3.2). A voided
 * statement stays in the LRS, but every conformant LRS leaves it out of its queries and reports, and
 * it is the one way the specification gives a statement's sender to take it back; the LRS's own
 * deletion (GDPR requests to its operator) still applies to what it keeps.
 *
 * In the erasing transaction, one XapiVoiding row per MODEL assessment (each may have been sent:
 * live, by a bulk re-assessment, or by a re-send; voiding one the LRS never got is allowed, and an
 * LRS should not refuse it for that) and one XAPI delivery on the learner.erased or utterance.deleted
 * event, sent by the outbox like every statement. Its attempt posts the voiding statements in
 * batches; each is built from stored rows only (id a UUID v5 of the voided id, the row's time), so
 * a retry or a re-send posts the same statements and an LRS's 409 is read back and compared. Each
 * voiding the LRS takes is recorded on its row as the answer comes (confirmedAt, with the LRS's
 * endpoint), so an attempt that stops mid-way leaves a later one only the rest to send.
 */
import type { Prisma, PrismaClient } from '../generated/prisma/client.js';
import type { XapiConfig } from '../config.js';
import { lrsFor } from './send.js';
import { freezeAtQueue } from './identity.js';
import { lrsAnswers, postStatements, sendStatement, statementState, type LrsConfig, type LrsOutcome, type SendOptions, type StatementState } from './lrs.js';
import { PLATFORM, VERB_VOIDED, type VoidingStatement } from './statement.js';
import { statementIdFor, STATEMENT_NAMESPACE, uuidV5 } from './uuid.js';

type Tx = Prisma.TransactionClient;

/** The events whose XAPI delivery voids statements instead of sending one. */
export const VOIDING_EVENT_TYPES = new Set(['learner.erased', 'utterance.deleted']);

/** Voiding statements per POST: an LRS takes an array; small enough for any request size limit. */
const BATCH = 100;

/** The id of the statement voiding `statementId`: the same on every attempt and re-send. */
export function voidingStatementIdFor(statementId: string): string {
  return uuidV5(`void:${statementId.toLowerCase()}`, STATEMENT_NAMESPACE);
}

/**
 * The statement voiding `statementId`. Its actor is speechmark itself (an account on the IRI base,
 * named "speechmark"): the learner is erased, and the voiding is the tool's, not the learner's.
 */
export function voidingStatement(config: Pick<XapiConfig, 'iriBase'>, statementId: string, at: Date): VoidingStatement {
  return {
    id: voidingStatementIdFor(statementId),
    actor: { objectType: 'Agent', account: { homePage: config.iriBase, name: PLATFORM } },
    verb: { id: VERB_VOIDED.id, display: { ...VERB_VOIDED.display } },
    object: { objectType: 'StatementRef', id: statementId },
    timestamp: at.toISOString(),
  };
}

/**
 * The MODEL assessments of `utteranceIds` (read before their rows go): their statement ids, as
 * buildStatement gave them.
 */
export async function statementsOf(tx: Tx, organizationId: string, utteranceIds: string[]): Promise<string[]> {
  if (utteranceIds.length === 0) return [];
  const rows = await tx.assessment.findMany({
    where: { organizationId, utteranceId: { in: utteranceIds }, source: 'MODEL' },
    select: { id: true },
    orderBy: { createdAt: 'asc' },
  });
  return rows.map((r) => statementIdFor(r.id));
}

/** A statement to void, with the time its voiding statement carries. */
export interface Voiding {
  statementId: string;
  voidedAt: Date;
}

/**
 * The voidings a learner's earlier deletions asked for that no delivery has carried to the LRS yet
 * (their utterance.deleted events are the learner's, and go with them on erasure): the erasure
 * takes them over, with their times, so that they are not lost.
 */
export async function pendingVoidingsOf(tx: Tx, organizationId: string, learnerId: string): Promise<Voiding[]> {
  return tx.xapiVoiding.findMany({
    where: {
      organizationId,
      event: { learnerId, deliveries: { none: { channel: 'XAPI', status: 'DELIVERED' } } },
    },
    select: { statementId: true, voidedAt: true },
  });
}

/**
 * In the erasing transaction, after its event (`eventId`): the statements to void and the XAPI
 * delivery that voids them, when the organisation has an LRS (its own or the server's) and there
 * is anything to void. `statementIds` are voided as of `at`; `carried` keep their own times.
 * Returns how many statements it will void.
 */
export async function queueVoiding(
  tx: Tx,
  event: { organizationId: string; eventId: string; at: Date },
  statementIds: string[],
  serverLrs: LrsConfig | null,
  carried: Voiding[] = [],
): Promise<number> {
  const voidings = new Map<string, Date>(carried.map((v) => [v.statementId, v.voidedAt]));
  for (const id of statementIds) if (!voidings.has(id)) voidings.set(id, event.at);
  if (voidings.size === 0 || !(await lrsFor(tx, event.organizationId, serverLrs))) return 0;
  await tx.xapiVoiding.createMany({
    data: [...voidings].map(([statementId, voidedAt]) => ({ organizationId: event.organizationId, eventId: event.eventId, statementId, voidedAt })),
  });
  // The voiding statements' actor is on the IRI base: frozen by the first attempt (./identity.ts).
  await freezeAtQueue(tx, event.eventId, {});
  await tx.delivery.create({ data: { organizationId: event.organizationId, eventId: event.eventId, channel: 'XAPI' } });
  return voidings.size;
}

/**
 * A batch refused with one of these may have been refused for one statement in it (an LRS stores a
 * batch whole or not at all): 400 for a statement it will not take, 413 for a batch too large. Its
 * statements are then sent one at a time, so one refusal does not keep the others from the LRS.
 * (Not 404: that is as likely a wrong endpoint as a refusal.)
 */
const MAYBE_ONE_REFUSED = new Set([400, 413]);

/**
 * A voiding attempt's options: `keepAlive` (the delivery worker's lease renewal) is called before
 * each step that sends (a batch, or one statement with its reads); false: the delivery was taken
 * over by another claim, and the attempt stops sending. `settleMs`: the window after a voiding's
 * time in which a statement on its way may still land (settleWindowMs; twice the request timeout).
 */
export type VoidingOptions = SendOptions & { keepAlive?: () => Promise<boolean>; settleMs?: number };

/** The outcome of an attempt that lost its delivery: whatever it records is fenced off anyway. */
const LEASE_LOST: LrsOutcome = {
  kind: 'retry', status: null, errorCode: 'LEASE_EXPIRED',
  reason: 'The attempt stopped: its lease ran out and another claim took the delivery over.',
};

/**
 * Before each step that sends (a batch's POST, one statement with its reads: at most three
 * requests, an About read): whether the attempt still holds its delivery, the lease renewed when due.
 */
async function alive(options: VoidingOptions): Promise<boolean> {
  return !options.keepAlive || (await options.keepAlive());
}

/** What the statements of one attempt came to, over all its batches. */
interface Tally {
  /** Voiding statements the LRS took (stored now, or before: 409 and compared). */
  voided: number;
  /** Voiding statements this LRS took in earlier attempts (recorded then): not sent again. */
  earlier: number;
  /**
   * Voided statements whose voiding the LRS refused and that a read by statementId says it does not
   * hold (404). They count as done only if the LRS showed in this attempt that it answers (a voiding
   * stored, a read answered 200): a wrong endpoint answers 404 to everything.
   */
  absent: string[];
  /** Voided statements whose voiding the LRS refused while it holds them (or could not say). */
  refused: string[];
  /**
   * Voided statements whose voiding the LRS refused, not readable there, while the LRS says its
   * reads are complete only up to before the settle window's end: not yet moot; retried.
   */
  unsettled: string[];
  firstRefusal: { status: number; reason: string } | null;
  /** The LRS's last answer that took a voiding, for the delivery's record. */
  lastTaken: LrsOutcome | null;
  /** The endpoint showed it is an LRS's: a read answered 200, or its About resource did. */
  answers: boolean;
}

/**
 * Records that the LRS at `endpoint` took the voidings of `statementIds` (the voided ids), right
 * after its answer. A fact about the LRS, not about the delivery: written even by an attempt that
 * lost its lease. A crash before this write only means the next attempt sends them again, which
 * the LRS answers 409 (compared: ours), so nothing is lost either way.
 */
async function recordTaken(prisma: PrismaClient, eventId: string, endpoint: string, statementIds: string[]): Promise<void> {
  if (statementIds.length === 0) return;
  await prisma.xapiVoiding.updateMany({
    where: { eventId, statementId: { in: statementIds } },
    data: { confirmedAt: new Date(), confirmedEndpoint: endpoint },
  });
}

/**
 * One attempt of a voiding delivery: every statement of the event, in batches. A batch answered
 * 409 (some were stored by an earlier attempt whose answer was lost) is sent again one statement at
 * a time, each 409 read back and compared; so is a batch refused as a whole (MAYBE_ONE_REFUSED). A
 * batch to retry, a conflict or a refusal of the credentials ends the attempt there. A voiding the
 * LRS refuses for a statement it does not hold counts as done (a strict LRS will not void what it
 * never got, or voided already); any other refused voiding fails the delivery, naming the
 * statements, after the rest were voided. A batch of which the LRS took nothing ends the attempt: it
 * refuses the requests, not one statement. Before each batch, and each statement sent alone, the
 * delivery's lease is renewed when due (options.keepAlive), so an attempt over any number of voidings keeps
 * its delivery while it makes progress instead of being taken over mid-way (LEASE_EXPIRED). What
 * the LRS took is recorded as it goes (recordTaken); voidings this LRS took in an earlier attempt
 * are not sent again, so an attempt after one that stopped mid-way (the LRS dropped, the lease
 * was lost) sends only the rest.
 */
export async function sendVoiding(
  prisma: PrismaClient,
  config: Pick<XapiConfig, 'iriBase'>,
  lrs: LrsConfig,
  event: { id: string },
  options: VoidingOptions,
  batchSize = BATCH,
): Promise<LrsOutcome> {
  const rows = await prisma.xapiVoiding.findMany({
    where: { eventId: event.id }, select: { statementId: true, voidedAt: true, confirmedEndpoint: true }, orderBy: { statementId: 'asc' },
  });
  if (rows.length === 0) return { kind: 'delivered', status: 204, alreadyStored: false, note: 'Nothing to void.' };
  // Taken by this LRS before (another LRS since gets them all: it never had them).
  const pending = rows.filter((r) => r.confirmedEndpoint !== lrs.endpoint);
  const earlier = rows.length - pending.length;
  if (pending.length === 0) return { kind: 'delivered', status: 204, alreadyStored: false, note: `Every voiding (${earlier}) was taken by the LRS in an earlier attempt; nothing sent.` };
  // An LRS that took voidings before is one that answers.
  const tally: Tally = { voided: 0, earlier, absent: [], refused: [], unsettled: [], firstRefusal: null, lastTaken: null, answers: earlier > 0 };
  const taken = (ids: string[]) => recordTaken(prisma, event.id, lrs.endpoint, ids);
  for (let i = 0; i < pending.length; i += batchSize) {
    const statements = pending.slice(i, i + batchSize).map((r) => voidingStatement(config, r.statementId, r.voidedAt));
    const [voidedBefore, refusedBefore] = [tally.voided, tally.refused.length];
    if (!(await alive(options))) return withTally(LEASE_LOST, tally, rows.length);
    const posted = await postStatements(lrs, statements, options);
    const oneAtATime = (posted.kind === 'delivered' && posted.alreadyStored) || (posted.kind === 'rejected' && MAYBE_ONE_REFUSED.has(posted.status));
    if (posted.kind === 'delivered' && !posted.alreadyStored) {
      await taken(statements.map((st) => st.object.id));
      tally.voided += statements.length;
      tally.lastTaken = posted;
    } else if (!oneAtATime) return withTally(posted, tally, rows.length);
    if (oneAtATime) {
      // Recorded once for the batch (one write, not one per statement: each step must fit the lease), also when it stops.
      const takenHere: string[] = [];
      const stopped = await oneByOne(lrs, statements, options, tally, takenHere).finally(() => taken(takenHere));
      if (stopped) return withTally(stopped, tally, rows.length);
    }
    if (tally.voided > voidedBefore) continue;
    // The LRS took nothing of this batch: every voiding refused means it refuses these requests,
    // not one statement; only "not held" answers count if the endpoint is an LRS's at all.
    if (tally.refused.length - refusedBefore === statements.length) break;
    if (tally.voided === 0 && !tally.answers) {
      if (!(await alive(options))) return withTally(LEASE_LOST, tally, rows.length);
      tally.answers = await lrsAnswers(lrs, options);
    }
    if (tally.voided === 0 && !tally.answers) break;
  }
  return summarise(tally, rows.length);
}

/** The attempt's outcome from its tally: delivered when every voiding was taken or is moot. */
function summarise(tally: Tally, total: number): LrsOutcome {
  const answers = tally.voided > 0 || tally.answers;
  const refused = answers ? tally.refused : [...tally.refused, ...tally.absent];
  if (refused.length > 0 || (!tally.lastTaken && !answers)) {
    const named = refused.slice(0, 5).join(', ') + (refused.length > 5 ? ` and ${refused.length - 5} more` : '');
    const first = tally.firstRefusal ?? { status: 404, reason: 'LRS answered 404' };
    return { kind: 'rejected', status: first.status, reason: `The LRS refused to void ${refused.length} of ${total} statements (${named}); ${counts(tally, total, answers)}. The first refusal: ${first.reason}` };
  }
  if (tally.unsettled.length > 0) {
    const named = tally.unsettled.slice(0, 5).join(', ') + (tally.unsettled.length > 5 ? ` and ${tally.unsettled.length - 5} more` : '');
    return {
      kind: 'retry', status: null, errorCode: 'LRS_NOT_CONSISTENT',
      reason: `The LRS refused to void ${tally.unsettled.length} of ${total} statements (${named}) that it does not return, but says its reads are complete only up to before they could have landed (X-Experience-API-Consistent-Through): read again later; ${counts(tally, total, answers)}.`,
    };
  }
  // every voiding moot: the About resource's answer is the delivery's record
  const taken = tally.lastTaken ?? { kind: 'delivered', status: 200, alreadyStored: false };
  if (taken.kind !== 'delivered') return taken;
  const notes = [
    taken.note,
    tally.earlier ? `${tally.earlier} of ${total} voidings were taken by the LRS in earlier attempts and not sent again.` : null,
    tally.absent.length ? `${tally.absent.length} of ${total} statements are not in the LRS (voided already, read by voidedStatementId; or never received, 404 to both reads once any statement on its way would have landed), which refused to void them: nothing of them is left to void.` : null,
  ].filter((n): n is string => !!n);
  return notes.length ? { ...taken, note: notes.join(' ') } : taken;
}

function counts(tally: Tally, total: number, answers: boolean): string {
  const moot = answers ? tally.absent.length : 0;
  const notSent = total - tally.voided - tally.earlier - tally.absent.length - tally.refused.length - tally.unsettled.length;
  return `${tally.voided} voided` + (tally.earlier ? `, ${tally.earlier} voided by earlier attempts` : '') + (moot ? `, ${moot} not in the LRS` : '')
    + (tally.unsettled.length ? `, ${tally.unsettled.length} not readable yet` : '') + (notSent ? `, ${notSent} not sent after a batch of which the LRS took nothing` : '');
}

/** An outcome that ends the attempt early, with what the attempt had done before it. */
function withTally(outcome: LrsOutcome, tally: Tally, total: number): LrsOutcome {
  if (outcome.kind === 'delivered' || (tally.voided === 0 && tally.earlier === 0 && tally.refused.length === 0 && tally.absent.length === 0)) return outcome;
  const refused = tally.refused.length ? `; refused before it: ${tally.refused.slice(0, 5).join(', ')}${tally.refused.length > 5 ? ' and more' : ''}` : '';
  return { ...outcome, reason: `${outcome.reason} (this attempt: ${counts(tally, total, true)}${refused})` };
}

/**
 * The statements one at a time; an outcome that ends the attempt (retry, conflict, credentials), or
 * null. The voided ids of those the LRS took are added to `taken`, for the caller to record.
 */
async function oneByOne(lrs: LrsConfig, statements: VoidingStatement[], options: VoidingOptions, tally: Tally, taken: string[]): Promise<LrsOutcome | null> {
  for (const statement of statements) {
    if (!(await alive(options))) return LEASE_LOST;
    let outcome = await sendStatement(lrs, statement, options);
    if (outcome.kind === 'rejected' && MAYBE_ONE_REFUSED.has(outcome.status)) {
      const target = statement.object.id;
      const found = await refusedTarget(lrs, statement, outcome.status, options);
      if ('kind' in found) {
        if (found.kind !== 'delivered') return found; // a read to retry, the lease lost, or the second POST's outcome
        outcome = found; // it landed meanwhile, and the LRS took the voiding then
      } else {
        if (found.state === 'held' || found.state === 'voided') tally.answers = true;
        if (found.state === 'voided' || found.state === 'absent') tally.absent.push(target);
        else if (found.state === 'unsettled') tally.unsettled.push(target);
        else {
          tally.refused.push(target);
          tally.firstRefusal ??= { status: outcome.status, reason: outcome.reason };
        }
        continue;
      }
    }
    if (outcome.kind !== 'delivered') return outcome;
    taken.push(statement.object.id);
    tally.voided++;
    tally.lastTaken = outcome;
  }
  return null;
}

/**
 * The window after a voiding's time in which a statement on its way to the LRS may still land: a
 * delivery in flight when its learner was erased posts within its request timeout; twice that,
 * for the clocks of two hosts. (`settleMs` overrides it.)
 */
function settleWindowMs(options: VoidingOptions): number {
  return options.settleMs ?? 2 * (options.timeoutMs ?? 10_000);
}

/**
 * Waits `ms` while keeping the delivery: the wait can be longer than the lease (the settle window is
 * twice the request timeout), so the lease is renewed as it runs out (alive), as between requests.
 * False when the lease was lost meanwhile.
 */
async function sleepHoldingLease(ms: number, options: VoidingOptions): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until && !options.signal?.aborted) {
    await sleep(Math.min(until - Date.now(), SETTLE_STEP_MS), options.signal);
    if (!(await alive(options))) return false;
  }
  return true;
}

/** How often a wait for the settle window checks the lease (alive renews it only when due). */
const SETTLE_STEP_MS = 100;

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, Math.max(0, ms));
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * What a refused voiding's target is in the LRS, made sure before a voiding counts as moot. One 404
 * to a read by statementId proves little: a statement voided already answers it too (it is read by
 * voidedStatementId: moot for good), an LRS may answer before what it stored can be read (its
 * X-Experience-API-Consistent-Through says up to when its reads are complete), and a statement on
 * its way lands after the read. So a target not readable before the settle window has passed is
 * read again once it has (one that landed meanwhile is voided now: the LRS's answer to that POST is
 * returned), and one the LRS's reads may not cover yet (consistent only up to before the window's
 * end) is `unsettled`: the attempt is retried rather than the voiding counted as moot.
 */
async function refusedTarget(
  lrs: LrsConfig, statement: VoidingStatement, status: number, options: VoidingOptions,
): Promise<LrsOutcome | { state: StatementState['state'] | 'unsettled' }> {
  const target = statement.object.id;
  const after = `LRS refused to void ${target} (${status})`;
  const settled = Date.parse(statement.timestamp) + settleWindowMs(options);
  let read = await statementState(lrs, target, after, options);
  if ('kind' in read) return read;
  if (read.state === 'absent' && Date.now() < settled) {
    if (!(await sleepHoldingLease(settled - Date.now(), options))) return LEASE_LOST;
    read = await statementState(lrs, target, after, options);
    if ('kind' in read) return read;
    if (read.state === 'held') {
      // It landed: void it now. Refused again while held is a refusal like any other.
      const again = await sendStatement(lrs, statement, options);
      return again.kind === 'rejected' && MAYBE_ONE_REFUSED.has(again.status) ? { state: 'held' } : again;
    }
  }
  if (read.state === 'absent' && read.consistentThrough !== null && read.consistentThrough < settled) return { state: 'unsettled' };
  return { state: read.state };
}
