import type { Job, Prisma, PrismaClient } from '../generated/prisma/client.js';
import type { Intake } from '../intake.js';
import type { ModelSet } from '../inference/model-set.js';
import { addStage, timeStage, type StageTimes } from '../ops/stage-times.js';
import { generateRationale, generateWrongTextRationale } from '../rationale/generate.js';
import { checkRationale } from '../rationale/check.js';
import { AppError } from '../errors.js';
import { INTERNAL_FAILURE_MESSAGE, type FailedJob } from '../jobs/queue.js';
import type { ReferenceWord } from '../types.js';
import { writeAssessment } from './persist.js';
import { assessmentBreaks } from './breaks.js';
import { decodeTimeline, encodeTimeline } from './timeline-codec.js';
import { assessmentFluency, labelTimedWords } from './fluency.js';
import { applyContentMatch } from './wrong-text.js';
import { audioRemoved } from './audio-retention.js';
import { lockForModelAssessment } from './human.js';
import { queueLtiFailure, queueLtiScore } from '../lti/deliver.js';
import { assessmentCompleted, emitEvent, emitJobFailed } from '../outbox/events.js';
import { queueXapiStatement } from '../xapi/send.js';
import type { LrsConfig } from '../xapi/lrs.js';
import { inferenceDuration, jobStageDuration } from '../ops/metrics.js';

/** Every stage of `times` into the stage histogram (speechmark_job_stage_duration_seconds). */
function observeStages(times: StageTimes): void {
  for (const [stage, ms] of Object.entries(times)) jobStageDuration.observe({ stage }, ms / 1000);
}

/**
 * The inference job: decode the stored audio, score it, take the model's rationale or write a
 * grounded one, and check it against the labels.
 * All of it runs outside any transaction; the returned function writes the result, and its
 * `assessment.completed` outbox event with its deliveries (webhooks, the LTI score owed, the xAPI
 * statement when the organisation has an LRS; `serverLrs` is the server-wide one), in the worker's
 * completing transaction.
 */
export function createAssessHandler(deps: { prisma: PrismaClient; intake: Intake; models: ModelSet; serverLrs?: LrsConfig | null }) {
  return async (job: Job): Promise<(tx: Prisma.TransactionClient) => Promise<void>> => {
    // The bundle the job asked for (the claim took it because this worker serves it), else the default.
    const model = deps.models.forVersion(job.requestedModelVersion);
    const times: StageTimes = {};
    // Submit to claim, both on the database's clock.
    if (job.startedAt) addStage(times, 'queued', Math.max(0, job.startedAt.getTime() - job.createdAt.getTime()));
    const utterance = await timeStage(times, 'load', () => deps.prisma.utterance.findUnique({
      where: { id: job.utteranceId },
      include: { learner: { select: { id: true, externalId: true, ageGroup: true } } },
    }));
    if (!utterance) throw new AppError('NOT_FOUND', `Utterance ${job.utteranceId} no longer exists.`);
    if (utterance.audioRemovedAt) throw audioRemoved(utterance.audioRemovedAt);
    const audio = await timeStage(times, 'decode', () => deps.intake.load(utterance.audioSha256));
    const words = utterance.referenceWords as unknown as ReferenceWord[];
    const started = performance.now();
    const assessed = await model.assess(audio.samples, words, { times });
    const inferenceMs = Math.round(performance.now() - started);
    addStage(times, 'inference', inferenceMs);
    inferenceDuration.observe({ provider: model.executionProvider, model_version: model.modelVersion }, inferenceMs / 1000);
    const rationaleStarted = performance.now();
    // a recording of another sentence gets the READ_WRONG_TEXT outcome, not an ordinary score
    const { labels, contentMatch, flags } = applyContentMatch(assessed.labels, assessed.content);
    // What the API will serve of the stored rows (the timeline through its codec): the rationale and the event say the same.
    const timeline = labels.diagnostics ? decodeTimeline(encodeTimeline(labels.diagnostics)) : null;
    const timed = labelTimedWords(labels);
    const breaks = assessmentBreaks({ words: timed, utterance, insertions: timeline?.insertions ?? null, flags });
    const fluency = assessmentFluency({ words: timed, referenceWords: utterance.referenceWords, timing: timeline, flags });
    const wording = { audience: utterance.learner.ageGroup === 'CHILD' ? ('child' as const) : ('adult' as const), breaks };
    const text = assessed.rationale
      ?? (flags.includes('READ_WRONG_TEXT') ? generateWrongTextRationale(labels, wording) : generateRationale(labels, wording));
    const check = checkRationale(text, labels);
    addStage(times, 'rationale', performance.now() - rationaleStarted);
    observeStages(times);
    const modelRef = { name: model.modelName, version: model.modelVersion, executionProvider: model.executionProvider };
    return async (tx) => {
      const writeStarted = performance.now();
      // First: it locks the utterance (the order writeAssessment needs) and skips the human-label
      // look-up when there are none.
      const { humanCheck, earlierModelAssessment } = await lockForModelAssessment(tx, utterance, text);
      const assessmentId = await writeAssessment(tx, {
        organizationId: job.organizationId,
        utteranceId: utterance.id,
        jobId: job.id,
        source: 'MODEL',
        model: modelRef,
        inferenceMs,
        labels,
        contentMatch,
        flags,
        rationale: { text, check, humanCheck },
        utteranceLocked: true,
        earlierModelAssessment,
      });
      const eventId = await emitEvent(tx, {
        organizationId: job.organizationId,
        learnerId: utterance.learner.id,
        type: 'assessment.completed',
        data: assessmentCompleted({
          assessmentId, job, utterance, learner: utterance.learner, model: modelRef, labels, pitch: timeline?.pitch ?? null, breaks, fluency, rationale: { text, flags: check.flags },
          content: { contentMatch, flags },
        }),
      });
      // LTI grade passback and the LRS: deliveries of the same event, committed with the assessment.
      const delivers = await deliveriesOf(tx, job);
      if (delivers.grade) {
        await queueLtiScore(tx, { id: assessmentId, organizationId: job.organizationId, utteranceId: utterance.id, scores: labels.sentence, comment: text, flags }, eventId);
      }
      if (delivers.statement) await queueXapiStatement(tx, { organizationId: job.organizationId, eventId }, deps.serverLrs ?? null);
      // The statements of the completing transaction (its commit is not in it).
      jobStageDuration.observe({ stage: 'write' }, (performance.now() - writeStarted) / 1000);
    };
  };
}

/**
 * Whether this job's assessment posts an LTI grade (when its submission named a line item) and
 * sends an xAPI statement (when the organisation has an LRS): a submission's and a single
 * re-assessment's do; a bulk re-assessment's only when it was started with postGrades or
 * sendStatements, so a model upgrade over past work neither replaces grades a teacher has read nor
 * adds a second statement per past reading to an LRS, which keeps every statement.
 */
async function deliveriesOf(tx: Prisma.TransactionClient, job: Pick<Job, 'bulkOperationId'>): Promise<{ grade: boolean; statement: boolean }> {
  if (job.bulkOperationId === null) return { grade: true, statement: true };
  const op = await tx.bulkOperation.findUnique({ where: { id: job.bulkOperationId }, select: { postGrades: true, sendStatements: true } });
  return { grade: op?.postGrades === true, statement: op?.sendStatements === true };
}

/**
 * The job queue's hook for a job just marked FAILED (src/jobs/queue.ts), in that transaction: the
 * assessment.failed event, and with it a Failed grade when the reading named a line item and the
 * user has no grade there yet (src/lti/deliver.ts queueLtiFailure; a bulk re-assessment's only with
 * postGrades, as its grades).
 */
export async function jobFailed(tx: Prisma.TransactionClient, job: FailedJob): Promise<void> {
  const eventId = await emitJobFailed(tx, job);
  if (eventId === null) return;
  if ((await deliveriesOf(tx, job)).grade) await queueLtiFailure(tx, job, eventId);
}

/** Refusals of the input or the model's output are final; anything else may pass on a retry. */
const PERMANENT = new Set(['MODEL_OUTPUT_INVALID', 'CORRUPT_AUDIO', 'UNSUPPORTED_MEDIA_TYPE', 'NOT_FOUND', 'EMPTY_REFERENCE_TEXT', 'AUDIO_REMOVED']);

export function classifyAssessError(error: unknown) {
  if (error instanceof AppError) {
    const raw = error.extensions.rawOutput;
    return {
      code: error.code,
      message: error.message,
      transient: !PERMANENT.has(error.code),
      rawOutput: typeof raw === 'string' ? raw : raw === undefined ? undefined : JSON.stringify(raw),
    };
  }
  // Not the error's own message: it may name paths, SQL or hosts (the worker logs it).
  return { code: 'INTERNAL_SERVER_ERROR', message: INTERNAL_FAILURE_MESSAGE, transient: true };
}
