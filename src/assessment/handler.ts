import type { Job, Prisma, PrismaClient } from '../generated/prisma/client.js';
import type { Intake } from '../intake.js';
import type { Assessor } from '../inference/assessor.js';
import { generateRationale } from '../rationale/generate.js';
import { checkRationale } from '../rationale/check.js';
import { AppError } from '../errors.js';
import type { ReferenceWord } from '../types.js';
import { writeAssessment } from './persist.js';
import { humanCheckForNewRationale } from './human.js';
import { queueLtiScore } from '../lti/deliver.js';
import { assessmentCompleted, emitEvent } from '../outbox/events.js';
import { queueXapiStatement } from '../xapi/send.js';
import type { LrsConfig } from '../xapi/lrs.js';

/**
 * The inference job: decode the stored audio, score it, take the model's rationale or write a
 * grounded one, and check it against the labels.
 * All of it runs outside any transaction; the returned function writes the result, and its
 * `assessment.completed` outbox event with its deliveries (webhooks, the LTI score owed, the xAPI
 * statement when the organisation has an LRS; `serverLrs` is the server-wide one), in the worker's
 * completing transaction.
 */
export function createAssessHandler(deps: { prisma: PrismaClient; intake: Intake; assessor: Assessor; serverLrs?: LrsConfig | null }) {
  return async (job: Job): Promise<(tx: Prisma.TransactionClient) => Promise<void>> => {
    const utterance = await deps.prisma.utterance.findUnique({
      where: { id: job.utteranceId },
      include: { learner: { select: { id: true, externalId: true } } },
    });
    if (!utterance) throw new AppError('NOT_FOUND', `Utterance ${job.utteranceId} no longer exists.`);
    const audio = await deps.intake.load(utterance.audioSha256);
    const words = utterance.referenceWords as unknown as ReferenceWord[];
    const started = performance.now();
    const { labels, rationale } = await deps.assessor.assess(audio.samples, words);
    const inferenceMs = Math.round(performance.now() - started);
    const text = rationale ?? generateRationale(labels);
    const check = checkRationale(text, labels);
    const model = deps.assessor;
    const modelRef = { name: model.modelName, version: model.modelVersion, executionProvider: model.executionProvider };
    return async (tx) => {
      const assessmentId = await writeAssessment(tx, {
        organizationId: job.organizationId,
        utteranceId: utterance.id,
        jobId: job.id,
        source: 'MODEL',
        model: modelRef,
        inferenceMs,
        labels,
        rationale: { text, check, humanCheck: await humanCheckForNewRationale(tx, utterance, text) },
      });
      const eventId = await emitEvent(tx, {
        organizationId: job.organizationId,
        learnerId: utterance.learner.id,
        type: 'assessment.completed',
        data: assessmentCompleted({
          assessmentId, job, utterance, learner: utterance.learner, model: modelRef, labels, rationale: { text, flags: check.flags },
        }),
      });
      // LTI grade passback and the LRS: deliveries of the same event, committed with the assessment.
      await queueLtiScore(tx, { id: assessmentId, organizationId: job.organizationId, utteranceId: utterance.id, scores: labels.sentence, comment: text }, eventId);
      await queueXapiStatement(tx, { organizationId: job.organizationId, eventId }, deps.serverLrs ?? null);
    };
  };
}

/** Refusals of the input or the model's output are final; anything else may pass on a retry. */
const PERMANENT = new Set(['MODEL_OUTPUT_INVALID', 'CORRUPT_AUDIO', 'UNSUPPORTED_MEDIA_TYPE', 'NOT_FOUND', 'EMPTY_REFERENCE_TEXT']);

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
  return { code: 'INTERNAL_SERVER_ERROR', message: (error as Error)?.message ?? String(error), transient: true };
}
