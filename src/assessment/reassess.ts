/**
 * reassessUtterance's write: one INTERACTIVE job for a stored utterance. With an idempotency key
 * (per organisation, among re-assessments) a retry after a lost answer returns the job the key first
 * created instead of a second assessment, webhook, xAPI statement and grade; the same key for
 * another utterance or model version is CONFLICT, naming what differs (as submitRecording does).
 */
import type { Job, PrismaClient } from '../generated/prisma/client.js';
import { AppError } from '../errors.js';
import { isForeignKeyViolation, isUniqueViolation } from '../db/errors.js';
import { notifyJobChanged } from '../events/notify.js';
import { checkIdempotencyKey, createAssessmentJob } from './submit.js';
import { audioRemoved } from './audio-retention.js';

export interface ReassessRequest {
  organizationId: string;
  utteranceId: string;
  requestedModelVersion: string | null;
  idempotencyKey?: string | null;
  maxAttempts: number;
}

export async function reassessUtterance(prisma: PrismaClient, request: ReassessRequest): Promise<{ job: Job; replayed: boolean }> {
  const idempotencyKey = checkIdempotencyKey(request.idempotencyKey, 'idempotencyKey');
  if (idempotencyKey) {
    const earlier = await jobByKey(prisma, request.organizationId, idempotencyKey);
    if (earlier) return { job: replayOrConflict(earlier, request, idempotencyKey), replayed: true };
  }
  // Refused up front when retention removed the recording (a removal after this is the job's AUDIO_REMOVED).
  const stored = await prisma.utterance.findFirst({ where: { id: request.utteranceId, organizationId: request.organizationId }, select: { audioRemovedAt: true } });
  if (!stored) throw utteranceGone();
  if (stored.audioRemovedAt) throw audioRemoved(stored.audioRemovedAt);
  try {
    const job = await prisma.$transaction(async (tx) => {
      const created = await createAssessmentJob(tx, {
        organizationId: request.organizationId,
        utteranceId: request.utteranceId,
        maxAttempts: request.maxAttempts,
        priority: 'INTERACTIVE', // one utterance, asked for by someone who waits for it
        requestedModelVersion: request.requestedModelVersion,
        idempotencyKey,
      });
      await notifyJobChanged(tx, created.id);
      return created;
    });
    return { job, replayed: false };
  } catch (e) {
    // The same key, sent twice at once: the other request's job won the insert.
    if (idempotencyKey && isUniqueViolation(e)) {
      const earlier = await jobByKey(prisma, request.organizationId, idempotencyKey);
      if (earlier) return { job: replayOrConflict(earlier, request, idempotencyKey), replayed: true };
    }
    // Deleted (or its learner erased) after the read above, before the job's insert: nothing was written.
    if (isForeignKeyViolation(e)) throw utteranceGone();
    throw e;
  }
}

function utteranceGone(): AppError {
  return new AppError('NOT_FOUND', 'The utterance no longer exists (it was deleted, or its learner erased).');
}

function jobByKey(prisma: PrismaClient, organizationId: string, idempotencyKey: string): Promise<Job | null> {
  return prisma.job.findUnique({ where: { organizationId_idempotencyKey: { organizationId, idempotencyKey } } });
}

function replayOrConflict(earlier: Job, request: ReassessRequest, key: string): Job {
  const differs = [
    earlier.utteranceId !== request.utteranceId && 'utterance',
    earlier.requestedModelVersion !== request.requestedModelVersion && 'modelVersion',
  ].filter((d): d is string => typeof d === 'string');
  if (differs.length > 0) {
    throw new AppError(
      'CONFLICT',
      `idempotencyKey ${JSON.stringify(key)} was already used for a different re-assessment (different ${differs.join(', ')}); use a new key.`,
      { idempotencyKey: key, differs },
    );
  }
  return earlier;
}
