/**
 * What a statement's content reads from settings that can change, frozen per event so that every
 * attempt and re-send of its XAPI delivery posts the same statement under the same id.
 *
 * An LRS keeps the first statement it stores under an id; a retry after a lost answer that built the
 * statement again with another actor (the organisation's account home page changed by an admin in
 * between: setXapiAccountHomePage) or other IRIs (SPEECHMARK_XAPI_IRI_BASE or
 * SPEECHMARK_XAPI_ACCOUNT_HOME_PAGE changed across a restart) met a 409 whose stored statement
 * differs, and failed as STATEMENT_CONFLICT although the LRS held ours.
 *
 * So the event (OutboxEvent.xapiIdentity) records, when its XAPI delivery is queued, the
 * organisation's own home page (null: the server's); the first attempt then resolves the server-wide
 * parts (the IRI base, the server's home page where the organisation had none) and stores them
 * before it sends anything, and every attempt after builds from what is stored. An event queued
 * before this existed has no snapshot: its statements are built from the live settings, as before.
 *
 * The snapshot also says what the statement's content is made of where versions of speechmark
 * differ (`metadata`: whether it carries the submission's metadata extension, which statements
 * sent before that extension existed lack): this version freezes `metadata: true`; an event without
 * a snapshot whose LRS holds the statement as an earlier version built it (a 409 read back equal
 * to the build without the extension) freezes that build (freezeAsStored), so its re-sends post it.
 */
import type { Prisma, PrismaClient } from '../generated/prisma/client.js';
import type { XapiConfig } from '../config.js';
import { toGlobalId } from '../graphql/ids.js';

type Db = PrismaClient | Prisma.TransactionClient;

/** The settings a statement is built from: what buildStatement reads from config, with the home page resolved. */
export interface XapiIdentity {
  iriBase: string;
  accountHomePage: string;
  /** Whether the statement carries the submission's metadata extension (when the recording has metadata). */
  metadata: boolean;
}

/** As stored: queued ({accountHomePage}, null for the server's), then resolved by the first attempt (all). */
interface StoredIdentity {
  accountHomePage?: string | null;
  iriBase?: string;
  metadata?: boolean;
}

/** In the queuing transaction: the organisation's account home page now (null: the server's). */
export async function identityAtQueue(tx: Prisma.TransactionClient, organizationId: string): Promise<StoredIdentity> {
  const org = await tx.organization.findUniqueOrThrow({ where: { id: organizationId }, select: { xapiAccountHomePage: true } });
  return { accountHomePage: org.xapiAccountHomePage };
}

/** Records `identity` on the event (in the transaction that queues its XAPI delivery). */
export async function freezeAtQueue(tx: Prisma.TransactionClient, eventId: string, identity: StoredIdentity): Promise<void> {
  await tx.outboxEvent.update({ where: { id: eventId }, data: { xapiIdentity: identity as Prisma.InputJsonObject } });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * A resolved snapshot. One without `metadata` was resolved by a version whose statements carried
 * the metadata extension already (snapshots came after it), so it is true there.
 */
export function complete(v: unknown): XapiIdentity | null {
  return isObject(v) && typeof v.iriBase === 'string' && typeof v.accountHomePage === 'string'
    ? { iriBase: v.iriBase, accountHomePage: v.accountHomePage, metadata: v.metadata !== false }
    : null;
}

/** What a queued snapshot resolves to on this server (the first attempt stores it; an export only reads it). */
export function resolveQueued(stored: unknown, config: Pick<XapiConfig, 'iriBase' | 'accountHomePage'>): XapiIdentity | null {
  if (!isObject(stored)) return null;
  const own = typeof stored.accountHomePage === 'string' ? stored.accountHomePage : null;
  return complete(stored) ?? { iriBase: config.iriBase, accountHomePage: own ?? config.accountHomePage, metadata: true };
}

/**
 * The identity an attempt builds the event's statements from: null for an event without a
 * snapshot (built from the live settings, as before). A snapshot taken at queue time is resolved
 * with this server's settings and stored first (the first attempt to store it wins: a concurrent
 * one uses what was stored), so the statements of every later attempt and re-send are the same.
 */
export async function frozenIdentity(
  db: Db,
  event: { id: string; xapiIdentity: unknown },
  config: Pick<XapiConfig, 'iriBase' | 'accountHomePage'>,
): Promise<XapiIdentity | null> {
  const stored = event.xapiIdentity;
  if (!isObject(stored)) return null;
  const done = complete(stored);
  if (done) return done;
  const resolved = resolveQueued(stored, config)!;
  const written = await db.$executeRawUnsafe(
    `UPDATE "OutboxEvent" SET "xapiIdentity" = $2::jsonb
      WHERE "id" = $1::uuid AND "xapiIdentity" IS NOT NULL AND ("xapiIdentity"->>'iriBase') IS NULL`,
    event.id,
    JSON.stringify(resolved),
  );
  if (written > 0) return resolved;
  // Another attempt stored it first (or the event went: erased, and nothing is sent anyway).
  const again = await db.outboxEvent.findUnique({ where: { id: event.id }, select: { xapiIdentity: true } });
  return complete(again?.xapiIdentity) ?? resolved;
}

/**
 * An event without a snapshot whose statement the LRS was shown to hold as `identity` builds it (a
 * 409 read back equal): that build is frozen, so every later attempt, re-send and export of the
 * event gives the stored statement whatever the settings or this version's defaults become. Only
 * where there is still no snapshot (a concurrent attempt's stays).
 */
export async function freezeAsStored(db: Db, eventId: string, identity: XapiIdentity): Promise<void> {
  await db.$executeRawUnsafe(
    `UPDATE "OutboxEvent" SET "xapiIdentity" = $2::jsonb WHERE "id" = $1::uuid AND "xapiIdentity" IS NULL`,
    eventId,
    JSON.stringify(identity),
  );
}

/**
 * For an export: the identity each of `assessmentIds` (one learner's) was or will be sent with,
 * where its assessment.completed event froze one: a snapshot resolved by an attempt as stored, one
 * only queued as its first attempt will resolve it (not stored here: an export reads). Assessments
 * missing from the map have no snapshot (no LRS when assessed, a bulk re-assessment not sent, an
 * event queued before snapshots existed) and are built from the live settings, as their delivery is.
 */
export async function frozenIdentitiesOf(
  db: Db,
  organizationId: string,
  learnerId: string,
  assessmentIds: string[],
  config: Pick<XapiConfig, 'iriBase' | 'accountHomePage'>,
): Promise<Map<string, XapiIdentity>> {
  if (assessmentIds.length === 0) return new Map();
  const byGlobalId = new Map(assessmentIds.map((id) => [toGlobalId('Assessment', id), id]));
  // The learner's events (the index on learnerId), the assessment named in the body as the event was sent.
  const rows = await db.$queryRawUnsafe<{ assessment: string; xapiIdentity: unknown }[]>(
    `SELECT ("body"::jsonb #>> '{data,assessment,id}') AS "assessment", "xapiIdentity"
       FROM "OutboxEvent"
      WHERE "learnerId" = $1::uuid AND "organizationId" = $2::uuid AND "type" = 'assessment.completed' AND "xapiIdentity" IS NOT NULL
        AND ("body"::jsonb #>> '{data,assessment,id}') = ANY($3::text[])`,
    learnerId,
    organizationId,
    [...byGlobalId.keys()],
  );
  const out = new Map<string, XapiIdentity>();
  for (const row of rows) {
    const identity = resolveQueued(row.xapiIdentity, config);
    const assessmentId = byGlobalId.get(row.assessment);
    if (identity && assessmentId && !out.has(assessmentId)) out.set(assessmentId, identity);
  }
  return out;
}
