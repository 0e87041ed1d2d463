/**
 * Erasure of one learner (a data subject's request): every row recorded about them, and the
 * stored recordings no one else's utterance still uses.
 *
 * Rows go in one transaction that first locks, in this order, the learner (no new utterance can
 * reference it), the jobs of its utterances (a worker completing one holds its job row, then the
 * utterance: taking them in the same order cannot deadlock, and a completion in flight commits
 * before we count) and the utterances (no new job or human labels). A worker that completes a job
 * afterwards finds no row to update and writes nothing (src/jobs/queue.ts completeJob).
 *
 * Files are content-addressed and shared by identical uploads, of any learner or organisation: a
 * file is removed only when no remaining utterance references its digest, and only after commit
 * (a rollback must not lose audio). Each removal goes through removeAudioIfUnreferenced, which
 * serialises it with concurrent submits of the very same bytes (src/assessment/audio-files.ts).
 */
import type { PrismaClient } from '../generated/prisma/client.js';
import type { AudioStore } from '../audio/store.js';
import { AppError } from '../errors.js';
import { removeAudioIfUnreferenced } from '../assessment/audio-files.js';
import { toGlobalId } from '../graphql/ids.js';
import { recordAudit, type Actor } from './audit.js';
import { log } from '../ops/log.js';
import { emitEvent, learnerErased } from '../outbox/events.js';

export interface ErasureCounts {
  learners: number;
  utterances: number;
  assessments: number;
  jobs: number;
  audioFilesRemoved: number;
  audioFilesKept: number;
  audioFilesNotRemoved: number;
}

export async function eraseLearner(
  prisma: PrismaClient,
  store: AudioStore,
  target: { organizationId: string; learnerId: string },
  actor: Actor,
): Promise<ErasureCounts> {
  const { organizationId, learnerId } = target;
  const rows = await prisma.$transaction(
    async (tx) => {
      const learner = await tx.$queryRaw<{ id: string; externalId: string }[]>`
        SELECT "id"::text AS "id", "externalId" FROM "Learner"
         WHERE "id" = ${learnerId}::uuid AND "organizationId" = ${organizationId}::uuid FOR UPDATE`;
      if (learner.length === 0) throw new AppError('NOT_FOUND', `No Learner with id "${toGlobalId('Learner', learnerId)}".`);
      await tx.$queryRaw`
        SELECT j."id" FROM "Job" j JOIN "Utterance" u ON u."id" = j."utteranceId"
         WHERE u."learnerId" = ${learnerId}::uuid FOR UPDATE OF j`;
      const utterances = await tx.$queryRaw<{ id: string; audioSha256: string }[]>`
        SELECT "id"::text AS "id", "audioSha256" FROM "Utterance" WHERE "learnerId" = ${learnerId}::uuid FOR UPDATE`;
      const utteranceIds = utterances.map((u) => u.id);
      const inUtterances = { organizationId, utteranceId: { in: utteranceIds } };
      const inAssessments = { organizationId, assessment: { utteranceId: { in: utteranceIds } } };
      await tx.rationale.deleteMany({ where: inAssessments });
      await tx.phonemeAssessment.deleteMany({ where: inAssessments });
      await tx.wordAssessment.deleteMany({ where: inAssessments });
      const assessments = await tx.assessment.deleteMany({ where: inUtterances });
      const jobs = await tx.job.deleteMany({ where: inUtterances });
      const deleted = await tx.utterance.deleteMany({ where: { organizationId, learnerId } });
      await tx.learner.delete({ where: { id: learnerId } });
      // The learner rollups carry no FK to the learner (see prisma/schema.prisma): removed here.
      await tx.learnerSoundRollup.deleteMany({ where: { organizationId, learnerId } });
      await tx.learnerSoundWordRollup.deleteMany({ where: { organizationId, learnerId } });
      await tx.learnerScoreRollup.deleteMany({ where: { organizationId, learnerId } });

      // Across every organisation on purpose: identical bytes are one file. What is reported counts
      // only this organisation's references: a file left for another organisation's identical
      // upload is gone for this one, and saying "kept" would tell its admin that someone else holds
      // those bytes.
      const digests = [...new Set(utterances.map((u) => u.audioSha256))];
      const stillUsed = await tx.utterance.findMany({
        where: { audioSha256: { in: digests } },
        select: { audioSha256: true, organizationId: true },
        distinct: ['audioSha256', 'organizationId'],
      });
      const used = new Set(stillUsed.map((u) => u.audioSha256));
      const keptHere = new Set(stillUsed.filter((u) => u.organizationId === organizationId).map((u) => u.audioSha256));
      const removable = digests.filter((d) => !used.has(d));
      const releasedHere = digests.length - removable.length - keptHere.size;
      const counts = { learners: 1, utterances: deleted.count, assessments: assessments.count, jobs: jobs.count };
      // After the learner's own events are gone (they cascade with it): this one is not the learner's
      // (learnerId null), so it stays, and tells every subscribed system to erase its copies too
      // (GDPR art. 19: recipients are told of an erasure).
      await emitEvent(tx, { organizationId, learnerId: null, type: 'learner.erased', data: learnerErased(learner[0]!, counts) });
      const eventId = await recordAudit(tx, {
        organizationId, actor, action: 'learner.erased', targetType: 'Learner', targetId: learnerId,
        details: { ...counts, audioFilesToRemove: removable.length + releasedHere, audioFilesKept: keptHere.size },
      });
      return { counts, removable, releasedHere, kept: keptHere.size, eventId };
    },
    { timeout: 60_000, maxWait: 10_000 },
  );

  let removed = rows.releasedHere;
  let kept = rows.kept;
  let notRemoved = 0;
  for (const sha256 of rows.removable) {
    try {
      if (await removeAudioIfUnreferenced(prisma, store, sha256)) removed++;
      // Not removed: this organisation uploaded the same bytes since (kept), or another one did or
      // the file was already gone (no longer stored for this organisation: removed, as above).
      else if ((await prisma.utterance.count({ where: { audioSha256: sha256, organizationId } })) > 0) kept++;
      else removed++;
    } catch (err) {
      // The rows are gone for good (committed): the answer says so and counts the file that stayed;
      // the log names it for an operator to delete (once no utterance references it), since no
      // learner is left to erase again. The cause may be the store or the database (err says which).
      notRemoved++;
      log.error('erasure: a recording may still be stored (removing it failed)', { auditEventId: rows.eventId, sha256, err });
    }
  }
  const result: ErasureCounts = { ...rows.counts, audioFilesRemoved: removed, audioFilesKept: kept, audioFilesNotRemoved: notRemoved };
  await prisma.auditEvent
    .update({ where: { id: rows.eventId }, data: { details: { ...result } } })
    .catch((err: unknown) => log.error('updating the erasure audit event failed', { auditEventId: rows.eventId, err }));
  return result;
}
