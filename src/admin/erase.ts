/**
 * Erasure of one learner (a data subject's request): every row recorded about them, and the
 * stored recordings no one else's utterance still uses.
 *
 * Rows go in one transaction that first locks, in this order, the learner (no new utterance can
 * reference it), the jobs of its utterances (a completion in flight commits before we count) and
 * the utterances (no new job or human labels). Whatever settles a job, attaches human labels or
 * deletes an utterance takes the learner FOR KEY SHARE before its job or utterance (the events it
 * writes reference the learner): one of us waits at the learner's row, and none holds a row the
 * other waits for. A worker that completes a job
 * afterwards finds no row to update and writes nothing (src/jobs/queue.ts completeJob).
 *
 * Files are content-addressed and shared by identical uploads, of any learner or organisation: a
 * file is removed only when no remaining utterance references its digest, and only after commit
 * (a rollback must not lose audio). Each removal goes through removeAudioIfUnreferenced, which
 * serialises it with concurrent submits of the very same bytes (src/assessment/audio-files.ts).
 */
import { Prisma, type PrismaClient } from '../generated/prisma/client.js';
import type { AudioStore } from '../audio/store.js';
import { AppError } from '../errors.js';
import { removeAudioIfUnreferenced } from '../assessment/audio-files.js';
import { toGlobalId } from '../graphql/ids.js';
import { recordAudit, updateAuditDetails, type Actor } from './audit.js';
import { log } from '../ops/log.js';
import { emitEvent, learnerErased, utteranceDeleted } from '../outbox/events.js';
import { addContributions } from '../analytics/rollup.js';
import { latestModelAssessments } from '../analytics/common.js';
import { lockGrade } from '../lti/grading.js';
import { holdLineItem, queueRegrade } from '../lti/regrade.js';
import { recordErasedLearner } from '../learners/erased.js';
import { pendingVoidingsOf, queueVoiding, statementsOf } from '../xapi/voiding.js';
import type { LrsConfig } from '../xapi/lrs.js';

type Tx = Prisma.TransactionClient;

export interface ErasureCounts {
  learners: number;
  utterances: number;
  assessments: number;
  jobs: number;
  audioFilesRemoved: number;
  audioFilesKept: number;
  audioFilesNotRemoved: number;
  /** Statements about the learner's assessments that the LRS is sent voiding statements for (src/xapi/voiding.ts). */
  xapiStatementsVoided: number;
}

/** What erasure needs beyond the rows: the server's LRS, for organisations without their own. */
export interface ErasureOptions {
  serverLrs?: LrsConfig | null;
}

export async function eraseLearner(
  prisma: PrismaClient,
  store: AudioStore,
  target: { organizationId: string; learnerId: string },
  actor: Actor,
  options: ErasureOptions = {},
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
      const utterances = await tx.$queryRaw<StoredUtterance[]>`
        SELECT "id"::text AS "id", "audioSha256", "audioRemovedAt" FROM "Utterance" WHERE "learnerId" = ${learnerId}::uuid FOR UPDATE`;
      const statements = await statementsOf(tx, organizationId, utterances.map((u) => u.id));
      // Voidings of earlier deletions not delivered yet: their events go with the learner.
      const carried = await pendingVoidingsOf(tx, organizationId, learnerId);
      const deleted = await deleteUtteranceRows(tx, organizationId, utterances);
      await tx.learner.delete({ where: { id: learnerId } });
      // So that the next roster sync does not create them again from the LMS's list.
      await recordErasedLearner(tx, organizationId, learner[0]!.externalId);
      // The learner rollups carry no FK to the learner (see prisma/schema.prisma): removed here.
      await tx.learnerSoundRollup.deleteMany({ where: { organizationId, learnerId } });
      await tx.learnerSoundWordRollup.deleteMany({ where: { organizationId, learnerId } });
      await tx.learnerScoreRollup.deleteMany({ where: { organizationId, learnerId } });
      const files = await planFileRemoval(tx, organizationId, utterances);
      const counts = { learners: 1, ...deleted };
      // After the learner's own events are gone (they cascade with it): this one is not the learner's
      // (learnerId null), so it stays, and tells every subscribed system to erase its copies too
      // (GDPR art. 19: recipients are told of an erasure).
      const erasedEvent = await emitEvent(tx, { organizationId, learnerId: null, type: 'learner.erased', data: learnerErased(learner[0]!, counts) });
      // The LRS is told too: the statements sent about the learner are voided there.
      const xapiStatementsVoided = await queueVoiding(tx, { organizationId, eventId: erasedEvent, at: new Date() }, statements, options.serverLrs ?? null, carried);
      const eventId = await recordAudit(tx, {
        organizationId, actor, action: 'learner.erased', targetType: 'Learner', targetId: learnerId,
        details: { ...counts, ...filesToReport(files), xapiStatementsVoided },
      });
      return { counts: { ...counts, xapiStatementsVoided }, files, eventId };
    },
    { timeout: 60_000, maxWait: 10_000 },
  );
  const result: ErasureCounts = { ...rows.counts, ...(await removeFiles(prisma, store, organizationId, rows.files, rows.eventId)) };
  await updateAuditDetails(prisma, rows.eventId, { ...result });
  return result;
}

export interface UtteranceDeletion {
  learnerId: string;
  assessments: number;
  jobs: number;
  audioFilesRemoved: number;
  audioFilesKept: number;
  audioFilesNotRemoved: number;
  xapiStatementsVoided: number;
  /** 1 when the reading was graded on a line item and the user's grade was posted again from their other readings. */
  gradesReposted: number;
}

/**
 * Deletes one utterance and everything recorded about it (deleteUtterance): its assessments with
 * their word, phoneme and rationale rows, its jobs (a running one is abandoned, as by an erasure),
 * its events (whose bodies name it), and its recording when no remaining utterance shares the bytes.
 * The learner's analytics rollups lose the utterance's latest model assessment in the same
 * transaction, so progress, sounds and cohorts no longer count it. Locks in the order an erasure
 * and a settling job do: the learner, the jobs, the utterance, the rollups, an LTI grade's lock,
 * then the LTI scores before the events (as a grade re-send does).
 */
export async function deleteUtterance(
  prisma: PrismaClient,
  store: AudioStore,
  target: { organizationId: string; utteranceId: string },
  actor: Actor,
  options: ErasureOptions = {},
): Promise<UtteranceDeletion> {
  const { organizationId, utteranceId } = target;
  const rows = await prisma.$transaction(
    async (tx) => {
      // The learner first, as an erasure and a settling job take it: an erasure of the same learner
      // waits for this deletion (or this one, after it, finds nothing), and neither holds what the
      // other waits for. KEY SHARE: other work on the learner's utterances goes on.
      await tx.$queryRaw`
        SELECT l."id" FROM "Learner" l JOIN "Utterance" u ON u."learnerId" = l."id"
         WHERE u."id" = ${utteranceId}::uuid AND u."organizationId" = ${organizationId}::uuid FOR KEY SHARE OF l`;
      await tx.$queryRaw`
        SELECT j."id" FROM "Job" j JOIN "Utterance" u ON u."id" = j."utteranceId"
         WHERE u."id" = ${utteranceId}::uuid AND u."organizationId" = ${organizationId}::uuid FOR UPDATE OF j`;
      const found = await tx.$queryRaw<(StoredUtterance & { learnerId: string; externalId: string })[]>`
        SELECT u."id"::text AS "id", u."audioSha256", u."audioRemovedAt", u."learnerId"::text AS "learnerId", l."externalId"
          FROM "Utterance" u JOIN "Learner" l ON l."id" = u."learnerId"
         WHERE u."id" = ${utteranceId}::uuid AND u."organizationId" = ${organizationId}::uuid FOR UPDATE OF u`;
      if (found.length === 0) throw new AppError('NOT_FOUND', `No Utterance with id "${toGlobalId('Utterance', utteranceId)}".`);
      const utterance = found[0]!;
      // Before its rows go: the learner's sums lose what this utterance added (its latest model assessment).
      const latest = latestModelAssessments({ organizationId, utterances: Prisma.sql`AND u."id" = ${utteranceId}::uuid` });
      await addContributions(tx, Prisma.sql`SELECT id, -1 AS sign FROM (${latest}) l`);
      // A reading graded under BEST or MEAN: a grade being computed for the same user and line item
      // finishes first, or computes after this commits, without the deleted reading. After the
      // rollups, as a completing worker takes them (src/lti/deliver.ts: rollups, then this lock).
      // The line item held first (FOR KEY SHARE, as a completing reading holds it, so a deletion of
      // the line item waits for this one instead of deadlocking on the submission row).
      const submission = await tx.ltiSubmission.findUnique({ where: { utteranceId }, select: { lineItemId: true, userId: true } });
      const lineItem = submission ? await holdLineItem(tx, submission.lineItemId) : null;
      // The newest grade as the platform holds it, read before the rows (its score among them) go: the re-grade is stamped after it.
      const before = submission ? await lockGrade(tx, submission) : null;
      // A reading that may count in the user's grade (assessed, by the model or a rater, while the
      // user has a grade there): the grade is made again from the others once it is gone. Not "a
      // score names it": a grade names the user's newest reading, and counts the others too.
      const graded = submission && await tx.ltiScore.findFirst({ where: { ...submission, gradingProgress: { not: 'FAILED' } }, select: { id: true } })
        ? await tx.assessment.findFirst({ where: { organizationId, utteranceId }, select: { id: true } })
        : null;
      const statements = await statementsOf(tx, organizationId, [utteranceId]);
      // The rows (LTI scores among them) before the events: the order a grade re-send locks them in.
      const deleted = await deleteUtteranceRows(tx, organizationId, [utterance]);
      // The utterance's events carry its scores: they go too (their webhook deliveries with them).
      const quotedId = JSON.stringify(toGlobalId('Utterance', utteranceId));
      await tx.$executeRaw`
        DELETE FROM "OutboxEvent" WHERE "organizationId" = ${organizationId}::uuid
           AND "learnerId" = ${utterance.learnerId}::uuid AND strpos("body", ${quotedId}) > 0`;
      const files = await planFileRemoval(tx, organizationId, [utterance]);
      const deletedEvent = await emitEvent(tx, {
        organizationId, learnerId: utterance.learnerId, type: 'utterance.deleted',
        data: utteranceDeleted(utteranceId, { id: utterance.learnerId, externalId: utterance.externalId }, deleted),
      });
      const xapiStatementsVoided = await queueVoiding(tx, { organizationId, eventId: deletedEvent, at: new Date() }, statements, options.serverLrs ?? null);
      // AGS cannot take a score back: with no assessed reading left, the gradebook keeps what it has.
      const regraded = graded && lineItem && submission
        ? await queueRegrade(tx, { organizationId, lineItem, userId: submission.userId, eventId: deletedEvent, reason: 'READING_DELETED', notBefore: before?.lastScoredAt })
        : null;
      const gradesReposted = regraded ? 1 : 0;
      const eventId = await recordAudit(tx, {
        organizationId, actor, action: 'utterance.deleted', targetType: 'Utterance', targetId: utteranceId,
        details: { learnerId: toGlobalId('Learner', utterance.learnerId), assessments: deleted.assessments, jobs: deleted.jobs, ...filesToReport(files), xapiStatementsVoided, gradesReposted },
      });
      return { learnerId: utterance.learnerId, deleted, files, eventId, xapiStatementsVoided, gradesReposted };
    },
    { timeout: 60_000, maxWait: 10_000 },
  );
  const fileCounts = await removeFiles(prisma, store, organizationId, rows.files, rows.eventId);
  const learnerId = toGlobalId('Learner', rows.learnerId);
  const { xapiStatementsVoided, gradesReposted } = rows;
  await updateAuditDetails(prisma, rows.eventId, { learnerId, assessments: rows.deleted.assessments, jobs: rows.deleted.jobs, ...fileCounts, xapiStatementsVoided, gradesReposted });
  return { learnerId: rows.learnerId, assessments: rows.deleted.assessments, jobs: rows.deleted.jobs, ...fileCounts, xapiStatementsVoided, gradesReposted };
}

interface StoredUtterance {
  id: string;
  audioSha256: string;
  /** Set once audio retention removed the recording: no file of its own to remove or count. */
  audioRemovedAt: Date | null;
}

/** The rows of the (locked) utterances, children first: assessments with their rows, jobs, the utterances. */
async function deleteUtteranceRows(tx: Tx, organizationId: string, utterances: StoredUtterance[]) {
  const utteranceIds = utterances.map((u) => u.id);
  const inUtterances = { organizationId, utteranceId: { in: utteranceIds } };
  const inAssessments = { organizationId, assessment: { utteranceId: { in: utteranceIds } } };
  // The assessments locked in id order first, the order a re-grade holds a user's readings in
  // (src/lti/regrade.ts heldReadings): the deletes below then take them in no particular order.
  await tx.$queryRaw`SELECT "id" FROM "Assessment" WHERE "organizationId" = ${organizationId}::uuid AND "utteranceId" = ANY(${utteranceIds}::uuid[]) ORDER BY "id" FOR UPDATE`;
  await tx.rationale.deleteMany({ where: inAssessments });
  await tx.phonemeAssessment.deleteMany({ where: inAssessments });
  await tx.wordAssessment.deleteMany({ where: inAssessments });
  const assessments = await tx.assessment.deleteMany({ where: inUtterances });
  const jobs = await tx.job.deleteMany({ where: inUtterances });
  const deleted = await tx.utterance.deleteMany({ where: { organizationId, id: { in: utteranceIds } } });
  return { utterances: deleted.count, assessments: assessments.count, jobs: jobs.count };
}

/** Which of the deleted utterances' recordings may go once the transaction commits, and what to report. */
interface FilePlan {
  /** Digests no remaining utterance of any organisation references. */
  removable: string[];
  /** Digests only another organisation's identical upload still references: gone for this one. */
  releasedHere: number;
  /** Digests another of this organisation's utterances still references. */
  kept: number;
}

async function planFileRemoval(tx: Tx, organizationId: string, utterances: StoredUtterance[]): Promise<FilePlan> {
  // Across every organisation on purpose: identical bytes are one file. What is reported counts
  // only this organisation's references: a file left for another organisation's identical
  // upload is gone for this one, and saying "kept" would tell its admin that someone else holds
  // those bytes.
  const digests = [...new Set(utterances.filter((u) => u.audioRemovedAt === null).map((u) => u.audioSha256))];
  const stillUsed = await tx.utterance.findMany({
    where: { audioSha256: { in: digests }, audioRemovedAt: null },
    select: { audioSha256: true, organizationId: true },
    distinct: ['audioSha256', 'organizationId'],
  });
  const used = new Set(stillUsed.map((u) => u.audioSha256));
  const keptHere = new Set(stillUsed.filter((u) => u.organizationId === organizationId).map((u) => u.audioSha256));
  const removable = digests.filter((d) => !used.has(d));
  return { removable, releasedHere: digests.length - removable.length - keptHere.size, kept: keptHere.size };
}

function filesToReport(files: FilePlan) {
  return { audioFilesToRemove: files.removable.length + files.releasedHere, audioFilesKept: files.kept };
}

/** After commit: removes the files the plan allows; never throws (the rows are gone for good). */
async function removeFiles(prisma: PrismaClient, store: AudioStore, organizationId: string, files: FilePlan, auditEventId: string) {
  let removed = files.releasedHere;
  let kept = files.kept;
  let notRemoved = 0;
  for (const sha256 of files.removable) {
    try {
      if (await removeAudioIfUnreferenced(prisma, store, sha256)) removed++;
      // Not removed: this organisation uploaded the same bytes since (kept), or another one did or
      // the file was already gone (no longer stored for this organisation: removed, as above).
      else if ((await prisma.utterance.count({ where: { audioSha256: sha256, organizationId, audioRemovedAt: null } })) > 0) kept++;
      else removed++;
    } catch (err) {
      // The rows are gone for good (committed): the answer says so and counts the file that stayed;
      // the log names it for an operator to delete (once no utterance references it), since nothing
      // is left to delete again. The cause may be the store or the database (err says which).
      notRemoved++;
      log.error('erasure: a recording may still be stored (removing it failed)', { auditEventId, sha256, err });
    }
  }
  return { audioFilesRemoved: removed, audioFilesKept: kept, audioFilesNotRemoved: notRemoved };
}

