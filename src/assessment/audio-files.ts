/**
 * Keeping the content-addressed audio store and the Utterance rows in step.
 *
 * Order (the usual safe one): the file is written BEFORE the transaction that inserts the row, so a
 * worker can never read a committed row whose file is not there yet; when that transaction fails,
 * the file is removed again unless some row references the digest. Files are shared: two
 * utterances (any organisation) with the same bytes have one file, and a concurrent submit of the
 * same bytes may have written (or found) the file a moment ago and not committed yet. So removal and
 * insertion are serialised per digest with a PostgreSQL advisory lock:
 *
 * - a submit's transaction takes the digest's lock SHARED, then makes sure the file exists (writing
 *   it again if a removal got in between its write and its lock), then inserts, then commits;
 * - a removal takes the lock EXCLUSIVE in its own transaction, counts the committed rows that
 *   reference the digest, and deletes the file only when there are none, still holding the lock.
 *
 * A removal therefore waits for every in-flight submit of those bytes to commit or roll back, and
 * then sees its row (READ COMMITTED: the count's snapshot is taken after the lock was granted); a
 * submit that starts after a removal finds the file gone and writes it again under its lock. No
 * committed row is ever left without its file, and a failed submit leaves no file nobody references.
 * Concurrent submits do not block each other (shared locks). The lock is per digest, across
 * organisations, in the two-key advisory space (apart from the migrator's one-key lock). A crash
 * between the write and the commit can still leave an unreferenced file: a sweep of the store
 * (files no row references) is the remedy for that, not this module.
 */
import type { Prisma, PrismaClient } from '../generated/prisma/client.js';
import type { AudioStore } from '../audio/store.js';
import { runTransaction } from '../db/transaction.js';

/** 'SMAU' as an int4: the advisory lock namespace (classid) of audio digests. */
const AUDIO_LOCK_NAMESPACE = 0x534d4155;

/** The first 32 bits of the digest as a signed int4 (a collision only means a needless wait). */
function lockKey(sha256: string): number {
  return parseInt(sha256.slice(0, 8), 16) | 0;
}

/**
 * Inside a submit's transaction, before inserting a row that references `sha256`: hold the digest
 * against removal until commit and make sure the file is in the store.
 */
export async function holdAudioForInsert(
  tx: Prisma.TransactionClient,
  store: AudioStore,
  sha256: string,
  rewrite: () => Promise<unknown>,
): Promise<void> {
  await tx.$executeRawUnsafe('SELECT pg_advisory_xact_lock_shared($1::int4, $2::int4)', AUDIO_LOCK_NAMESPACE, lockKey(sha256));
  if (!(await store.has(sha256))) await rewrite();
}

/** Remove the file of `sha256` unless a committed Utterance references it. True when removed. */
export async function removeAudioIfUnreferenced(prisma: PrismaClient, store: AudioStore, sha256: string): Promise<boolean> {
  return runTransaction(prisma, async (tx) => {
    await tx.$executeRawUnsafe('SELECT pg_advisory_xact_lock($1::int4, $2::int4)', AUDIO_LOCK_NAMESPACE, lockKey(sha256));
    const referenced = await tx.utterance.findFirst({ where: { audioSha256: sha256 }, select: { id: true } });
    if (referenced) return false;
    return store.remove(sha256);
  });
}
