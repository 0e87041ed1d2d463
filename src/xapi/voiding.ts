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
 * a retry or a re-send posts the same statements and an LRS's 409 is read back and compared.
 */
import type { Prisma, PrismaClient } from '../generated/prisma/client.js';
import type { XapiConfig } from '../config.js';
import { lrsFor } from './send.js';
import { postStatements, sendStatement, type LrsConfig, type LrsOutcome, type SendOptions } from './lrs.js';
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
  await tx.delivery.create({ data: { organizationId: event.organizationId, eventId: event.eventId, channel: 'XAPI' } });
  return voidings.size;
}

/**
 * One attempt of a voiding delivery: every statement of the event, in batches. A batch answered
 * 409 (some were stored by an earlier attempt whose answer was lost) is sent again one statement at
 * a time, each 409 read back and compared. The first batch that is not delivered decides the outcome.
 */
export async function sendVoiding(
  prisma: PrismaClient,
  config: Pick<XapiConfig, 'iriBase'>,
  lrs: LrsConfig,
  event: { id: string },
  options: SendOptions,
): Promise<LrsOutcome> {
  const rows = await prisma.xapiVoiding.findMany({ where: { eventId: event.id }, select: { statementId: true, voidedAt: true }, orderBy: { statementId: 'asc' } });
  let last: LrsOutcome = { kind: 'delivered', status: 204, alreadyStored: false, note: 'Nothing to void.' };
  for (let i = 0; i < rows.length; i += BATCH) {
    const statements = rows.slice(i, i + BATCH).map((r) => voidingStatement(config, r.statementId, r.voidedAt));
    last = await postStatements(lrs, statements, options);
    if (last.kind === 'delivered' && last.alreadyStored) last = await oneByOne(lrs, statements, options);
    if (last.kind !== 'delivered') return last;
  }
  return last;
}

async function oneByOne(lrs: LrsConfig, statements: VoidingStatement[], options: SendOptions): Promise<LrsOutcome> {
  let last: LrsOutcome = { kind: 'delivered', status: 204, alreadyStored: false };
  for (const statement of statements) {
    last = await sendStatement(lrs, statement, options);
    if (last.kind !== 'delivered') return last;
  }
  return last;
}
