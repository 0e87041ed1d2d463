/**
 * The event feed (Query.eventFeed): an organisation's events in the order they became readable, for
 * integrations that poll. Each event gets a position in its organisation's feed only after it
 * committed, from a sequencer that runs when the feed is read: it locks the organisation's counter,
 * then (in a fresh READ COMMITTED snapshot) numbers every committed event still without a position.
 * Sequencer runs are serialised by that lock, so positions only grow in the order they become
 * readable. A poller that resumes after the last position it read therefore misses nothing, which
 * `createdAt` order cannot promise: it is set before the event's transaction commits, so an event
 * can commit after a later one was read.
 */
import type { PrismaClient } from '../generated/prisma/client.js';
import { badInput } from '../errors.js';

/** Events numbered per sequencer transaction: a large backlog is placed over several reads. */
export const SEQUENCER_BATCH = 10_000;

export interface FeedHorizon {
  /** Every event at or before this position has one and is committed. */
  last: bigint;
  /** Committed events may still lack a position (the batch was full): read again at once. */
  more: boolean;
}

/**
 * Gives the organisation's committed events without a position their places, oldest first, up to
 * SEQUENCER_BATCH of them. Writes nothing when there are none (the usual case for a poller).
 */
export async function sequenceFeed(prisma: PrismaClient, organizationId: string, batch = SEQUENCER_BATCH): Promise<FeedHorizon> {
  const [state] = await prisma.$queryRaw<{ last: bigint | null; pending: boolean }[]>`
    SELECT (SELECT "lastPosition" FROM "EventFeedSequence" WHERE "organizationId" = ${organizationId}::uuid) AS "last",
           EXISTS (SELECT 1 FROM "OutboxEvent" WHERE "organizationId" = ${organizationId}::uuid AND "feedPosition" IS NULL) AS "pending"`;
  if (!state.pending) return { last: state.last ?? 0n, more: false };
  return prisma.$transaction(async (tx) => {
    await tx.$executeRaw`INSERT INTO "EventFeedSequence" ("organizationId") VALUES (${organizationId}::uuid) ON CONFLICT DO NOTHING`;
    // The lock first, in its own statement: the next statement's snapshot is taken after it, so it
    // sees every event that committed before, and none that another run has already numbered. An
    // event another transaction holds (a re-send, an erasure, retention) is skipped, not waited for:
    // it gets a later place on a later run, which loses nothing, and the sequencer never waits
    // behind (or deadlocks with) those transactions while other pollers queue on its lock.
    const [{ last }] = await tx.$queryRaw<{ last: bigint }[]>`
      SELECT "lastPosition" AS "last" FROM "EventFeedSequence" WHERE "organizationId" = ${organizationId}::uuid FOR NO KEY UPDATE`;
    const [{ placed }] = await tx.$queryRaw<{ placed: bigint }[]>`
      WITH locked AS (
        SELECT "id", "createdAt"
          FROM "OutboxEvent"
         WHERE "organizationId" = ${organizationId}::uuid AND "feedPosition" IS NULL
         ORDER BY "createdAt", "id"
         LIMIT ${batch}
           FOR UPDATE SKIP LOCKED
      ), pending AS (
        SELECT "id", row_number() OVER (ORDER BY "createdAt", "id") AS "n" FROM locked
      ), numbered AS (
        UPDATE "OutboxEvent" e SET "feedPosition" = ${last}::bigint + p."n"
          FROM pending p
         WHERE e."id" = p."id" AND e."feedPosition" IS NULL
        RETURNING 1
      )
      SELECT (SELECT count(*) FROM pending) AS "placed", (SELECT count(*) FROM numbered) AS "numbered"`;
    // Positions of events deleted meanwhile (an erasure) are skipped, never given twice.
    const next = last + placed;
    await tx.$executeRaw`UPDATE "EventFeedSequence" SET "lastPosition" = ${next}::bigint WHERE "organizationId" = ${organizationId}::uuid`;
    return { last: next, more: placed === BigInt(batch) };
  });
}

const CURSOR_KIND = 'eventFeed';

/** The opaque cursor of a feed position. */
export function encodeFeedCursor(position: bigint): string {
  return Buffer.from(`${CURSOR_KIND}:${position}`, 'utf8').toString('base64url');
}

/** A cursor eventFeed returned, as its position; anything else is BAD_USER_INPUT. */
export function decodeFeedCursor(cursor: string): bigint {
  const text = /^[A-Za-z0-9_-]{1,64}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  const match = /^eventFeed:(0|[1-9][0-9]{0,18})$/.exec(text);
  if (!match || encodeFeedCursor(BigInt(match[1])) !== cursor) {
    throw badInput('Invalid cursor: pass a cursor exactly as eventFeed returned it.', 'after');
  }
  return BigInt(match[1]);
}
