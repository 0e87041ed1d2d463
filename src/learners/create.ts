/**
 * The one write path for a new learner: the API's createLearner and the dataset importer both come
 * here, so the same checks (externalId 1-200 characters after trimming, groups as groups.ts cleans
 * them) hold however a learner is made.
 */
import type { AgeGroup, Learner, Prisma, PrismaClient } from '../generated/prisma/client.js';
import { AppError, badInput } from '../errors.js';
import { isUniqueViolation } from '../db/errors.js';
import { cleanGroups } from './groups.js';
import { erasedAmong, forgetErasedLearner } from './erased.js';
import { runTransaction } from '../db/transaction.js';
import { recordAudit, type Actor } from '../admin/audit.js';

export interface NewLearner {
  externalId: string;
  displayName?: string | null;
  groups?: readonly string[] | null;
  ageGroup?: AgeGroup | null;
}

/** A display name is at most this many characters: a label, not a document every page would carry. */
export const MAX_DISPLAY_NAME_LENGTH = 200;

/** The display name as sent (null clears it); over MAX_DISPLAY_NAME_LENGTH characters is BAD_USER_INPUT. */
export function checkDisplayName<T extends string | null | undefined>(displayName: T): T {
  if (typeof displayName === 'string' && [...displayName].length > MAX_DISPLAY_NAME_LENGTH) {
    throw badInput(`displayName must be at most ${MAX_DISPLAY_NAME_LENGTH} characters.`, 'input.displayName', { max: MAX_DISPLAY_NAME_LENGTH });
  }
  return displayName;
}

function cleanExternalId(raw: string): string {
  const externalId = raw.trim();
  if (!externalId || externalId.length > 200) throw badInput('externalId must be 1 to 200 characters.', 'input.externalId');
  return externalId;
}

/**
 * A new learner of the organisation. An externalId it already uses is CONFLICT, naming the learner
 * that has it (its database id, as `existingLearnerId`): a client that lost the first answer
 * (a timeout) recovers the id it needs to submit, whatever its key may read.
 */
export async function createLearner(prisma: PrismaClient, organizationId: string, input: NewLearner, actor: Actor): Promise<Learner> {
  const externalId = cleanExternalId(input.externalId);
  const groups = cleanGroups(input.groups ?? [], 'input.groups');
  const displayName = checkDisplayName(input.displayName ?? null);
  try {
    // One transaction: the learner, and the end of an earlier erasure's hold on the id (./erased.ts),
    // which the audit log records.
    return await runTransaction(prisma, async (tx) => {
      const learner = await tx.learner.create({
        data: { organizationId, externalId, displayName, groups, ageGroup: input.ageGroup ?? null },
      });
      const lifted = await forgetErasedLearner(tx, organizationId, externalId);
      if (lifted.count > 0) {
        await recordAudit(tx, { organizationId, actor, action: 'learner.erasureHoldLifted', targetType: 'Learner', targetId: learner.id, details: {} });
      }
      return learner;
    });
  } catch (e) {
    if (!isUniqueViolation(e)) throw e;
    const existing = await prisma.learner.findUnique({ where: { organizationId_externalId: { organizationId, externalId } }, select: { id: true } });
    throw new AppError('CONFLICT', `A learner with externalId "${externalId}" exists.`, { externalId, existingLearnerId: existing?.id ?? null });
  }
}

/** The learner with this externalId, created (by createLearner) when there is none yet; safe to race. */
export async function ensureLearner(prisma: PrismaClient, organizationId: string, externalId: string, actor: Actor): Promise<Learner> {
  const where = { organizationId_externalId: { organizationId, externalId: cleanExternalId(externalId) } };
  const existing = await prisma.learner.findUnique({ where });
  if (existing) return existing;
  try {
    return await createLearner(prisma, organizationId, { externalId }, actor);
  } catch (e) {
    // Created by a concurrent run between the read and the insert.
    if (e instanceof AppError && e.code === 'CONFLICT') return prisma.learner.findUniqueOrThrow({ where });
    throw e;
  }
}

/**
 * Many new learners at once (a class roster from the LMS), checked as createLearner checks one;
 * externalIds the organisation already uses are left as they are (created by someone else
 * meanwhile included), and so are those of erased learners (./erased.ts), which are returned.
 * Returns how many were created. Runs in the caller's transaction.
 *
 * Insert first, then look for holds among the rows inserted, and take those back out. An erasure in
 * progress has either not deleted its learner yet (the insert meets the live row and skips it) or
 * has (the insert waits on the deleted row's key until the erasure commits, and the hold committed
 * with it is then read by the next statement). So no listed learner is locked, and only new rows
 * are checked against the holds: a roster of 20,000 known learners costs one insert that skips them.
 */
export async function createMissingLearners(
  tx: Prisma.TransactionClient,
  organizationId: string,
  inputs: readonly NewLearner[],
): Promise<{ created: number; erased: string[] }> {
  if (inputs.length === 0) return { created: 0, erased: [] };
  const data = inputs.map((input) => ({
    organizationId,
    externalId: cleanExternalId(input.externalId),
    displayName: checkDisplayName(input.displayName ?? null),
    groups: cleanGroups(input.groups ?? [], 'input.groups'),
    ageGroup: input.ageGroup ?? null,
  }));
  const inserted = await tx.learner.createManyAndReturn({ data, skipDuplicates: true, select: { id: true, externalId: true } });
  const erased = await erasedAmong(tx, organizationId, inserted.map((l) => l.externalId));
  const heldIds = inserted.filter((l) => erased.has(l.externalId)).map((l) => l.id);
  if (heldIds.length > 0) await tx.learner.deleteMany({ where: { id: { in: heldIds } } });
  return { created: inserted.length - heldIds.length, erased: [...erased] };
}
