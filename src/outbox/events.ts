/**
 * Outbox events: what happened, written in the very transaction that makes it true (the completed
 * job's result, the failed job's final state, the stored utterance, the human labels), so a process
 * dying at any point can neither lose an event whose change committed nor leave one behind for a
 * change that rolled back.
 *
 * emitEvent writes the event and, in the same statement, one delivery for every webhook endpoint of
 * the organisation subscribed to its type: PENDING, for delivery workers (./worker.ts) to send, or,
 * for a disabled endpoint, FAILED with ENDPOINT_DISABLED and nothing sent, so the admin sees what
 * was missed and `resendFailedWebhookDeliveries` recovers it once the endpoint is enabled again. The body is fixed here, as the exact bytes every attempt and re-send signs:
 * `{"type", "timestamp", "data"}` as Standard Webhooks recommends. Ids in `data` are the GraphQL
 * global ids, so a receiver can query anything further.
 */
import { randomUUID } from 'node:crypto';
import type { Prisma } from '../generated/prisma/client.js';
import { toGlobalId } from '../graphql/ids.js';
import type { AssessmentLabels, PitchTrack, SentenceScores } from '../types.js';
import { decodeMetadata } from '../assessment/metadata.js';
import type { WordBreak } from '../assessment/breaks.js';
import type { FluencyMetrics } from '../assessment/fluency.js';
import { intonationOf } from '../assessment/intonation.js';

export const EVENT_TYPES = [
  'assessment.completed', 'assessment.failed', 'utterance.submitted', 'humanLabels.attached', 'bulkOperation.completed', 'learner.erased', 'utterance.deleted',
  'gradeDelivery.failed', 'xapiDelivery.failed', 'ltiLineItem.regraded',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];
/** sendTestWebhook's event: to one endpoint on request, never subscribed to, not in the events feed. */
export const TEST_EVENT_TYPE = 'webhook.test';

export function isEventType(t: string): t is EventType {
  return (EVENT_TYPES as readonly string[]).includes(t);
}

type Tx = Prisma.TransactionClient;

export interface EventInput {
  organizationId: string;
  /** The learner it is about (erasure removes the event); null for none. */
  learnerId: string | null;
  type: EventType;
  data: Record<string, unknown>;
  /** When it happened; now by default. */
  at?: Date;
}

/** The exact body of an event. */
export function eventBody(type: string, at: Date, data: unknown): string {
  return JSON.stringify({ type, timestamp: at.toISOString(), data });
}

/**
 * Writes the event and its webhook deliveries with the transaction given (one statement). Call it
 * with the transaction that writes the change the event reports. Returns the event's id.
 */
export async function emitEvent(tx: Tx, input: EventInput): Promise<string> {
  const id = randomUUID();
  const at = input.at ?? new Date();
  await tx.$executeRawUnsafe(
    `WITH ev AS (
       INSERT INTO "OutboxEvent" ("id", "organizationId", "learnerId", "type", "body", "createdAt")
       VALUES ($1::uuid, $2::uuid, $3::uuid, $4, $5, $6::timestamptz)
       RETURNING "id", "organizationId", "type"
     )
     INSERT INTO "Delivery" ("id", "organizationId", "eventId", "channel", "webhookEndpointId", "status",
                             "lastErrorCode", "lastError", "runAfter", "createdAt", "updatedAt")
     SELECT gen_random_uuid(), ev."organizationId", ev."id", 'WEBHOOK', e."id",
            CASE WHEN e."disabledAt" IS NULL THEN 'PENDING' ELSE 'FAILED' END::"DeliveryStatus",
            CASE WHEN e."disabledAt" IS NULL THEN NULL ELSE 'ENDPOINT_DISABLED' END,
            CASE WHEN e."disabledAt" IS NULL THEN NULL ELSE 'Not sent: the endpoint is disabled (' || coalesce(e."disabledReason", 'no reason given') || ').' END,
            now(), now(), now()
       FROM ev JOIN "WebhookEndpoint" e
         ON e."organizationId" = ev."organizationId" AND ev."type" = ANY(e."eventTypes")`,
    id,
    input.organizationId,
    input.learnerId,
    input.type,
    eventBody(input.type, at, input.data),
    at.toISOString(),
  );
  return id;
}

/**
 * A `webhook.test` event (sendTestWebhook): one event whose only delivery goes to the endpoint
 * given, so an integrator can check the URL and the signature without a real event. It is not one
 * of EVENT_TYPES: no endpoint subscribes to it and the events feed leaves it out. Returns the
 * delivery's id.
 */
export async function emitTestEvent(tx: Tx, organizationId: string, endpointId: string, at = new Date()): Promise<string> {
  const eventId = randomUUID();
  const deliveryId = randomUUID();
  const body = eventBody(TEST_EVENT_TYPE, at, {
    endpoint: { id: toGlobalId('WebhookEndpoint', endpointId) },
    message: 'A test event sent by sendTestWebhook: nothing happened. Answer 2xx to mark it delivered.',
  });
  await tx.$executeRawUnsafe(
    `WITH ev AS (
       INSERT INTO "OutboxEvent" ("id", "organizationId", "learnerId", "type", "body", "createdAt")
       VALUES ($1::uuid, $2::uuid, NULL, $4, $5, $6::timestamptz)
       RETURNING "id"
     )
     INSERT INTO "Delivery" ("id", "organizationId", "eventId", "channel", "webhookEndpointId", "status", "runAfter", "createdAt", "updatedAt")
     SELECT $7::uuid, $2::uuid, ev."id", 'WEBHOOK', $3::uuid, 'PENDING', now(), now(), now() FROM ev`,
    eventId, organizationId, endpointId, TEST_EVENT_TYPE, body, at.toISOString(), deliveryId,
  );
  return deliveryId;
}

// ---------------------------------------------------------------------------------------------
// Payloads. Each event type has one shape (documented in the README).

export interface LearnerRef {
  id: string;
  externalId: string;
}

function learnerRef(l: LearnerRef) {
  return { id: toGlobalId('Learner', l.id), externalId: l.externalId };
}

/** An utterance as every event names it: with the submitter's metadata, so a receiver can match it to its own records. */
function utteranceRef(u: UtteranceRef) {
  return { id: toGlobalId('Utterance', u.id), referenceText: u.referenceText, createdAt: u.createdAt.toISOString(), metadata: decodeMetadata(u.metadata) };
}

/** What an event needs of an utterance row; `metadata` is the stored column (src/assessment/metadata.ts). */
export interface UtteranceRef {
  id: string;
  referenceText: string;
  createdAt: Date;
  metadata: unknown;
}

function sentenceOf(s: SentenceScores) {
  return { accuracy: s.accuracy, fluency: s.fluency, prosody: s.prosody, completeness: s.completeness, total: s.total };
}

/**
 * Per reference word: scores, phoneme accuracies and, from the model's alignment, when the word was
 * said, its miscue and the break before it (null for human labels). Phoneme timing, the sounds heard
 * and the pitch contour stay in the API (Assessment.words, intonation): the payload grows with the
 * word count only, and stays a few KB.
 */
function wordsOf(labels: AssessmentLabels, breaks: ReadonlyMap<number, WordBreak | null> | null) {
  return labels.words.map((w, i) => {
    const d = labels.diagnostics?.words[i];
    return {
      text: w.text,
      accuracy: w.accuracy,
      stress: w.stress,
      total: w.total,
      startMs: d?.startMs ?? null,
      endMs: d?.endMs ?? null,
      errorType: d?.errorType ?? null,
      breakBefore: breaks?.get(i) ?? null,
      phonemes: w.phonemes.map((p) => ({ symbol: p.symbol, accuracy: p.accuracy })),
    };
  });
}

/** Assessment.intonation without its contour (the API serves that): null without a pitch contour. */
function intonationSummaryOf(pitch: PitchTrack | null) {
  if (!pitch) return null;
  const { medianPitchHz, pitchSpanSemitones, voicedMs, errorTypes } = intonationOf(pitch);
  return { medianPitchHz, pitchSpanSemitones, voicedMs, errorTypes };
}

export interface UtteranceFacts extends UtteranceRef {
  durationMs: number;
}

/** `utterance.submitted`: a recording was stored and its assessment queued. */
export function utteranceSubmitted(u: UtteranceFacts, learner: LearnerRef, job: { id: string }) {
  return {
    utterance: { ...utteranceRef(u), durationMs: u.durationMs },
    learner: learnerRef(learner),
    job: { id: toGlobalId('Job', job.id), status: 'QUEUED' },
  };
}

/** `assessment.completed`: a job's model assessment was stored. */
export function assessmentCompleted(input: {
  assessmentId: string;
  job: { id: string; attempts: number; bulkOperationId: string | null };
  utterance: UtteranceRef;
  learner: LearnerRef;
  model: { name: string; version: string; executionProvider: string };
  labels: AssessmentLabels;
  /** The labels' pitch contour as stored (through the timeline codec), as the API will read it. */
  pitch: PitchTrack | null;
  /** The labels' break feedback (src/assessment/breaks.ts assessmentBreaks), as the API will serve it. */
  breaks: ReadonlyMap<number, WordBreak | null> | null;
  /** The labels' fluency measures (src/assessment/fluency.ts assessmentFluency), as the API will serve them. */
  fluency: FluencyMetrics | null;
  rationale: { text: string; flags: string[] };
  /** Assessment.contentMatch and Assessment.flags (READ_WRONG_TEXT), as the API serves them */
  content: { contentMatch: number | null; flags: string[] };
}) {
  return {
    assessment: {
      id: toGlobalId('Assessment', input.assessmentId),
      source: 'MODEL',
      model: { name: input.model.name, version: input.model.version },
      executionProvider: input.model.executionProvider,
      sentence: sentenceOf(input.labels.sentence),
      words: wordsOf(input.labels, input.breaks),
      intonation: intonationSummaryOf(input.pitch),
      fluencyMetrics: input.fluency,
      rationale: { text: input.rationale.text, flags: input.rationale.flags, trusted: input.rationale.flags.length === 0 },
      contentMatch: input.content.contentMatch,
      flags: input.content.flags,
    },
    job: { id: toGlobalId('Job', input.job.id), attempts: input.job.attempts, bulkOperationId: bulkOperationRef(input.job.bulkOperationId) },
    utterance: utteranceRef(input.utterance),
    learner: learnerRef(input.learner),
  };
}

/** A job's bulk re-assessment as the API names it (global id), so a receiver can tell a re-grade from a new result. */
function bulkOperationRef(id: string | null): string | null {
  return id === null ? null : toGlobalId('BulkOperation', id);
}

/** `assessment.failed`: a job ended FAILED (no attempt left, or a failure no retry can mend). */
export function assessmentFailed(input: {
  job: { id: string; attempts: number; bulkOperationId: string | null; errorCode: string | null; errorMessage: string | null };
  utterance: UtteranceRef;
  learner: LearnerRef;
}) {
  return {
    job: {
      id: toGlobalId('Job', input.job.id),
      status: 'FAILED',
      attempts: input.job.attempts,
      bulkOperationId: bulkOperationRef(input.job.bulkOperationId),
      error: { code: input.job.errorCode ?? 'INTERNAL_SERVER_ERROR', message: input.job.errorMessage ?? '' },
    },
    utterance: utteranceRef(input.utterance),
    learner: learnerRef(input.learner),
  };
}

/** `humanLabels.attached`: a rater's (or a dataset's) labels were stored as a HUMAN assessment. */
export function humanLabelsAttached(input: {
  assessmentId: string;
  rater: string | null;
  labels: AssessmentLabels | { sentence: SentenceScores; words: null };
  utterance: UtteranceRef;
  learner: LearnerRef;
}) {
  return {
    assessment: {
      id: toGlobalId('Assessment', input.assessmentId),
      source: 'HUMAN',
      rater: input.rater,
      sentence: sentenceOf(input.labels.sentence),
      words: input.labels.words === null ? null : wordsOf(input.labels as AssessmentLabels, null),
    },
    utterance: utteranceRef(input.utterance),
    learner: learnerRef(input.learner),
  };
}

/**
 * `learner.erased`: the learner and everything recorded about them were deleted (eraseLearner). The
 * ids are all a receiver needs to find its own copies; nothing else about the learner is kept.
 */
export function learnerErased(learner: { id: string; externalId: string }, counts: { utterances: number; assessments: number }) {
  return {
    learner: { id: toGlobalId('Learner', learner.id), externalId: learner.externalId },
    utterances: counts.utterances,
    assessments: counts.assessments,
  };
}

/**
 * `utterance.deleted`: one recording and everything recorded about it were deleted
 * (deleteUtterance), its earlier events too; the learner stays.
 */
export function utteranceDeleted(utteranceId: string, learner: LearnerRef, counts: { assessments: number }) {
  return {
    utterance: { id: toGlobalId('Utterance', utteranceId) },
    learner: learnerRef(learner),
    assessments: counts.assessments,
  };
}

/** `bulkOperation.completed`: every job of a bulk re-assessment has finished (it was not cancelled). */
export function bulkOperationCompleted(op: {
  id: string;
  learnerId: string | null;
  groupExternalId: string | null;
  wholeOrganisation: boolean;
  since: Date | null;
  onlyFailed: boolean;
  failedWithCode: string | null;
  requestedModelVersion: string | null;
  postGrades: boolean;
  sendStatements: boolean;
  total: number;
  createdAt: Date;
  completedAt: Date;
}, jobs: { succeeded: number; failed: number }) {
  return {
    bulkOperation: {
      id: toGlobalId('BulkOperation', op.id),
      learnerId: op.learnerId === null ? null : toGlobalId('Learner', op.learnerId),
      groupExternalId: op.groupExternalId,
      wholeOrganisation: op.wholeOrganisation,
      since: op.since?.toISOString() ?? null,
      onlyFailed: op.onlyFailed,
      failedWithCode: op.failedWithCode,
      modelVersion: op.requestedModelVersion,
      postGrades: op.postGrades,
      sendStatements: op.sendStatements,
      total: op.total,
      succeeded: jobs.succeeded,
      failed: jobs.failed,
      createdAt: op.createdAt.toISOString(),
      completedAt: op.completedAt.toISOString(),
    },
  };
}

/**
 * The `assessment.failed` event of a job that has just been marked FAILED, with the transaction that
 * marked it (through the job queue's hook, src/assessment/handler.ts jobFailed); its id, or null
 * when the utterance is gone.
 */
export async function emitJobFailed(
  tx: Tx,
  job: { id: string; organizationId: string; utteranceId: string; bulkOperationId: string | null; attempts: number; errorCode: string | null; errorMessage: string | null },
): Promise<string | null> {
  const utterance = await tx.utterance.findUnique({
    where: { id: job.utteranceId },
    select: { id: true, referenceText: true, createdAt: true, metadata: true, learner: { select: { id: true, externalId: true } } },
  });
  if (!utterance) return null; // erased meanwhile: nothing to report about
  return emitEvent(tx, {
    organizationId: job.organizationId,
    learnerId: utterance.learner.id,
    type: 'assessment.failed',
    data: assessmentFailed({ job, utterance, learner: utterance.learner }),
  });
}

/**
 * The body actually sent when the stored one is over `maxBytes`: an assessment without its words
 * (`wordsOmitted: true`; the receiver queries them by the assessment id). null when even that is
 * too large.
 */
export function fitBody(body: string, maxBytes: number): string | null {
  if (Buffer.byteLength(body) <= maxBytes) return body;
  const parsed = JSON.parse(body) as { data?: { assessment?: { words?: unknown; wordsOmitted?: boolean } } };
  const assessment = parsed.data?.assessment;
  if (!assessment || assessment.words == null) return null;
  delete assessment.words;
  assessment.wordsOmitted = true;
  const thin = JSON.stringify(parsed);
  return Buffer.byteLength(thin) <= maxBytes ? thin : null;
}
