/**
 * Erased learners stay erased when the LMS still lists them: eraseLearner records the learner's
 * externalId here, and a roster sync (src/lti/members.ts) skips the ids recorded instead of
 * creating those learners again, with their names, from the next roster it reads. An explicit
 * createLearner (or the importer's) is a request about that person: it creates them and removes
 * the record.
 *
 * Only a hash of the externalId is kept, salted with the organisation's id: the minimum needed to
 * recognise the id when a roster sends it again. LMS user ids are often guessable, so the hash is
 * a pseudonym, not anonymous.
 */
import { createHash } from 'node:crypto';
import type { Prisma } from '../generated/prisma/client.js';

type Tx = Prisma.TransactionClient;

export function erasedIdHash(organizationId: string, externalId: string): string {
  return createHash('sha256').update(`${organizationId}\0${externalId}`).digest('hex');
}

/** Records an erasure (in the erasing transaction). Erased again later: the newer instant. */
export async function recordErasedLearner(tx: Tx, organizationId: string, externalId: string): Promise<void> {
  const externalIdSha256 = erasedIdHash(organizationId, externalId);
  await tx.erasedLearner.upsert({
    where: { organizationId_externalIdSha256: { organizationId, externalIdSha256 } },
    create: { organizationId, externalIdSha256 },
    update: { erasedAt: new Date() },
  });
}

/** The given externalIds that belong to erased learners of the organisation. */
export async function erasedAmong(tx: Tx, organizationId: string, externalIds: readonly string[]): Promise<Set<string>> {
  if (externalIds.length === 0) return new Set();
  const byHash = new Map(externalIds.map((id) => [erasedIdHash(organizationId, id), id]));
  const rows = await tx.erasedLearner.findMany({
    where: { organizationId, externalIdSha256: { in: [...byHash.keys()] } },
    select: { externalIdSha256: true },
  });
  return new Set(rows.map((r) => byHash.get(r.externalIdSha256)!));
}

/** Forgets the erasure of a learner created again on request. */
export function forgetErasedLearner(tx: Tx, organizationId: string, externalId: string) {
  return tx.erasedLearner.deleteMany({ where: { organizationId, externalIdSha256: erasedIdHash(organizationId, externalId) } });
}
