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
 * between the write and the commit can still leave an unreferenced file (so can a clean-up that
 * failed): sweepUnreferencedAudio, run as the server starts, removes those.
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

/**
 * Remove the file of `sha256` unless a committed Utterance references it and keeps its recording
 * (one whose audio retention removed keeps only the digest). True when removed.
 */
export async function removeAudioIfUnreferenced(prisma: PrismaClient, store: AudioStore, sha256: string): Promise<boolean> {
  return runTransaction(prisma, async (tx) => {
    await tx.$executeRawUnsafe('SELECT pg_advisory_xact_lock($1::int4, $2::int4)', AUDIO_LOCK_NAMESPACE, lockKey(sha256));
    const referenced = await tx.utterance.findFirst({ where: { audioSha256: sha256, audioRemovedAt: null }, select: { id: true } });
    if (referenced) return false;
    return store.remove(sha256);
  });
}

/** A submit writes its file just before its transaction: a younger unreferenced file may be one in flight. */
export const UNREFERENCED_AUDIO_MIN_AGE_MS = 60 * 60 * 1000;

/**
 * Removes files that no Utterance references (with its recording kept) and nothing touched for
 * `minAgeMs`: left by a process killed between a submit's write and its commit, or by a clean-up
 * (or an audio retention sweep) that failed. They are learners'
 * voices that no row points to, so neither erasure nor anything else would ever find them. Each is
 * removed by removeAudioIfUnreferenced, under the digest's lock. Stops between shards once `signal`
 * aborts. Returns how many were removed.
 */
export async function sweepUnreferencedAudio(
  prisma: PrismaClient,
  store: AudioStore,
  options: { minAgeMs?: number; now?: number; signal?: AbortSignal } = {},
): Promise<number> {
  const { minAgeMs = UNREFERENCED_AUDIO_MIN_AGE_MS, now = Date.now(), signal } = options;
  let removed = 0;
  for await (const shard of store.digests()) {
    if (signal?.aborted) break; // the server is stopping: the next start sweeps on
    const old = shard.filter((d) => now - d.mtimeMs > minAgeMs).map((d) => d.sha256);
    if (old.length === 0) continue;
    const referenced = await prisma.$queryRaw<{ sha: string }[]>`
      SELECT DISTINCT "audioSha256" AS sha FROM "Utterance" WHERE "audioSha256" = ANY(${old}::text[]) AND "audioRemovedAt" IS NULL`;
    const kept = new Set(referenced.map((r) => r.sha));
    for (const sha256 of old.filter((sha) => !kept.has(sha))) {
      if (await removeAudioIfUnreferenced(prisma, store, sha256)) removed++;
    }
  }
  return removed;
}
