/**
 * The one write path for a recording: validate, inspect the audio, store it, and create the
 * utterance, its assessment job and its `utterance.submitted` outbox event in one transaction. The submitUtterance mutation and the dataset
 * importer both call submitRecording; reassessUtterance shares createAssessmentJob, bulk
 * re-assessment (./bulk.ts) createAssessmentJobs.
 *
 * Idempotency (the IETF "Idempotency-Key" draft's semantics, as Stripe implements them): a key is
 * scoped to the organisation and remembers the request it first came with, as a fingerprint of
 * (learner id, normalised reference text, audio sha256, model version asked for, LTI line item and
 * user) stored in Utterance.requestFingerprint.
 * - the same key with the same request returns the first utterance and job (`replayed: true`),
 *   without decoding or storing anything again;
 * - the same key with a different request is CONFLICT, naming the key and what differs;
 * - two concurrent submits with one key: the unique index on (organizationId, idempotencyKey) lets
 *   one insert win; the other rolls back and then replays or conflicts like a later retry would.
 * Keys are opaque, compared exactly as sent, 1 to 255 characters, no control characters.
 */
import { createHash } from 'node:crypto';
import type { Job, JobPriority, LtiSubmission, Prisma, PrismaClient, Utterance } from '../generated/prisma/client.js';
import { sha256Hex } from '../audio/store.js';
import { AppError, badInput } from '../errors.js';
import type { Intake } from '../intake.js';
import { isForeignKeyViolation, isUniqueViolation } from '../db/errors.js';
import { runTransaction } from '../db/transaction.js';
import { analyzeReferenceText, normalizeReferenceText, phraseBreaksBefore } from '../text/reference.js';
import type { ReferenceWord } from '../types.js';
import { holdAudioForInsert, removeAudioIfUnreferenced } from './audio-files.js';
import { notifyJobChanged } from '../events/notify.js';
import { emitEvent, utteranceSubmitted } from '../outbox/events.js';
import { submitStageDuration } from '../ops/metrics.js';
import { timeStage, type StageTimes } from '../ops/stage-times.js';
import { writeLtiSubmission, type LtiScoreRequest } from '../lti/submission.js';
import { log } from '../ops/log.js';
import { checkMetadata, decodeMetadata, metadataEntries, type Metadata } from './metadata.js';

export const MAX_IDEMPOTENCY_KEY_CHARS = 255;

export interface SubmitDeps {
  prisma: PrismaClient;
  intake: Intake;
  jobMaxAttempts: number;
}

export interface SubmitRecordingInput {
  organizationId: string;
  /** The learner's database id; the caller has checked it is visible to the requester. */
  learnerId: string;
  referenceText: string;
  audio: Uint8Array;
  /** Canonical words when they are known (a dataset's own phones); else from the lexicon. */
  words?: ReferenceWord[];
  idempotencyKey?: string | null;
  /** The caller's key-value pairs (unchecked: checkMetadata refuses what does not fit before anything is read). */
  metadata?: unknown;
  /** INTERACTIVE (default: someone waits for the result) or BULK (the importer): the claim order. */
  priority?: JobPriority;
  /** The model version to run it with (checked by the caller: src/assessment/model-version.ts); null: the default. */
  requestedModelVersion?: string | null;
  /** The gradebook the score is owed to (checked by the caller: src/lti/submission.ts), written with the utterance. */
  lti?: LtiScoreRequest | null;
  /** More writes in the creating transaction (the importer's human labels); not run on a replay. */
  alsoWrite?: (tx: Prisma.TransactionClient, utterance: Utterance) => Promise<void>;
}

export interface SubmitRecordingResult {
  utterance: Utterance;
  job: Job;
  /** An earlier submit with the same key and request, returned as it was. */
  replayed: boolean;
}

/**
 * null for no key; BAD_USER_INPUT for a key that is empty, too long or has control characters.
 * `argument`: where the caller gave it (`input.idempotencyKey`, or reassessUtterance's `idempotencyKey`).
 */
export function checkIdempotencyKey(key: string | null | undefined, argument = 'input.idempotencyKey'): string | null {
  if (key === null || key === undefined) return null;
  const chars = [...key].length;
  if (chars === 0 || chars > MAX_IDEMPOTENCY_KEY_CHARS) {
    throw badInput(`idempotencyKey must be 1 to ${MAX_IDEMPOTENCY_KEY_CHARS} characters (got ${chars}).`, argument, { maxChars: MAX_IDEMPOTENCY_KEY_CHARS });
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(key)) {
    throw badInput('idempotencyKey must not contain control characters.', argument);
  }
  return key;
}

/** What a key remembers about its request. */
interface RequestIdentity {
  learnerId: string;
  /** normalizeReferenceText's words, space-joined: "we call it bear!" and "We call it bear" match. */
  text: string;
  /**
   * The words a phrase boundary comes before (phraseBreaksBefore), comma-joined: punctuation that
   * changes the assessment (the pauses expected) changes the request; "We call it, bear" is not
   * "We call it bear". Empty without any.
   */
  breaks: string;
  audioSha256: string;
  modelVersion: string | null;
  lti: LtiScoreRequest | null;
  metadata: Metadata;
}

function identityOf(
  learnerId: string, referenceText: string, audioSha256: string, modelVersion: string | null, lti: LtiScoreRequest | null, metadata: Metadata,
): RequestIdentity {
  const breaks = phraseBreaksBefore(referenceText).flatMap((b, i) => (b ? [i] : [])).join(',');
  return { learnerId, text: normalizeReferenceText(referenceText).join(' '), breaks, audioSha256, modelVersion, lti, metadata };
}

/**
 * v2: the whole request. A retry that adds a gradebook or asks for another model is another request.
 * Metadata and phrase breaks join the list only when there are any, so a request without them keeps
 * the fingerprint that keys stored before they counted remember.
 */
export function requestFingerprint(id: RequestIdentity): string {
  const metadata = metadataEntries(id.metadata);
  return sha256Json([
    'v2', id.learnerId, id.text, id.audioSha256, id.modelVersion, id.lti?.lineItemId ?? null, id.lti?.userId ?? null,
    ...(metadata.length > 0 ? [metadata] : []),
    ...(id.breaks ? [{ breaks: id.breaks }] : []),
  ]);
}

/** v1 (stored before the model version and the gradebook counted): learner, text and audio only. */
function requestFingerprintV1(id: RequestIdentity): string {
  return sha256Json(['v1', id.learnerId, id.text, id.audioSha256]);
}

function sameMetadata(a: Metadata, b: Metadata): boolean {
  return JSON.stringify(metadataEntries(a)) === JSON.stringify(metadataEntries(b));
}

function sha256Json(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex');
}

type EarlierSubmit = Utterance & { jobs: Job[]; ltiSubmission: LtiSubmission | null };

/** The request an earlier utterance was created by, as far as its rows tell. */
function storedIdentity(earlier: EarlierSubmit): RequestIdentity {
  const lti = earlier.ltiSubmission ? { lineItemId: earlier.ltiSubmission.lineItemId, userId: earlier.ltiSubmission.userId } : null;
  return identityOf(
    earlier.learnerId, earlier.referenceText, earlier.audioSha256, earlier.jobs[0]?.requestedModelVersion ?? null, lti, decodeMetadata(earlier.metadata),
  );
}

function sameRequest(earlier: EarlierSubmit, stored: RequestIdentity, request: RequestIdentity): boolean {
  // The breaks are read from the earlier row's text (stored as sent): a fingerprint from before they
  // counted does not hold them.
  if (stored.breaks !== request.breaks) return false;
  const fingerprint = earlier.requestFingerprint ?? requestFingerprint(stored); // rows from before fingerprints
  if (fingerprint === requestFingerprint(request) || fingerprint === requestFingerprint({ ...request, breaks: '' })) return true;
  // A v1 fingerprint froze learner, text and audio; the model version and gradebook are read from the rows.
  return fingerprint === requestFingerprintV1(request) && stored.modelVersion === request.modelVersion
    && stored.lti?.lineItemId === request.lti?.lineItemId && stored.lti?.userId === request.lti?.userId
    && sameMetadata(stored.metadata, request.metadata);
}

/** The earlier utterance's answer to a retry with the same key: a replay, or CONFLICT. */
function replayOrConflict(earlier: EarlierSubmit, key: string, request: RequestIdentity): SubmitRecordingResult {
  const stored = storedIdentity(earlier);
  if (!sameRequest(earlier, stored, request)) {
    const differs = [
      stored.learnerId !== request.learnerId && 'learner',
      (stored.text !== request.text || stored.breaks !== request.breaks) && 'referenceText',
      stored.audioSha256 !== request.audioSha256 && 'audio',
      stored.modelVersion !== request.modelVersion && 'modelVersion',
      (stored.lti?.lineItemId !== request.lti?.lineItemId || stored.lti?.userId !== request.lti?.userId) && 'lti',
      !sameMetadata(stored.metadata, request.metadata) && 'metadata',
    ].filter((d): d is string => typeof d === 'string');
    throw new AppError(
      'CONFLICT',
      `idempotencyKey ${JSON.stringify(key)} was already used for a different request` +
        (differs.length ? ` (different ${differs.join(', ')})` : '') +
        '; use a new key for a new submission.',
      { idempotencyKey: key, differs },
    );
  }
  const { jobs, ltiSubmission: _lti, ...utterance } = earlier;
  const job = jobs[0];
  if (!job) throw new Error(`utterance ${earlier.id} has no job`);
  return { utterance, job, replayed: true };
}

async function findByKey(prisma: PrismaClient, organizationId: string, idempotencyKey: string) {
  return prisma.utterance.findUnique({
    where: { organizationId_idempotencyKey: { organizationId, idempotencyKey } },
    include: { jobs: { orderBy: { createdAt: 'asc' }, take: 1 }, ltiSubmission: true },
  });
}

/** What every assessment job is created with. */
export interface AssessmentJobData {
  organizationId: string;
  maxAttempts: number;
  /** The claim takes INTERACTIVE before BULK (src/jobs/queue.ts); say which, there is no default here. */
  priority: JobPriority;
  requestedModelVersion?: string | null;
  /** The bulk re-assessment that asked for it (src/assessment/bulk.ts). */
  bulkOperationId?: string | null;
}

/** A QUEUED assessment job for a stored utterance (submit, reassess: with its idempotency key). */
export function createAssessmentJob(
  db: PrismaClient | Prisma.TransactionClient,
  data: AssessmentJobData & { utteranceId: string; idempotencyKey?: string | null },
): Promise<Job> {
  return db.job.create({ data });
}

/**
 * QUEUED assessment jobs for many stored utterances in one statement (bulk re-assessment), and one
 * notification of the batch's first job, on commit: it wakes every separate worker (which LISTEN for
 * queued jobs) as a submit does, without one notification per job flooding every listening API
 * process during a re-assessment of millions. The others are heard of when they start and end.
 */
export async function createAssessmentJobs(
  db: PrismaClient | Prisma.TransactionClient,
  data: AssessmentJobData & { utteranceIds: string[] },
): Promise<number> {
  const { utteranceIds, ...job } = data;
  const created = await db.job.createManyAndReturn({
    data: utteranceIds.map((utteranceId) => ({ ...job, utteranceId })),
    select: { id: true },
  });
  if (created.length > 0) await notifyJobChanged(db, created[0]!.id);
  return created.length;
}

/**
 * Validate, inspect and store a recording and queue its assessment. Refusals throw AppError with
 * their code and leave neither a row nor a file behind (see ./audio-files.ts for the file's order).
 */
export async function submitRecording(deps: SubmitDeps, input: SubmitRecordingInput): Promise<SubmitRecordingResult> {
  const { prisma, intake } = deps;
  const { organizationId, learnerId } = input;
  const idempotencyKey = checkIdempotencyKey(input.idempotencyKey);
  const words = input.words ?? analyzeReferenceText(input.referenceText);
  const metadata = checkMetadata(input.metadata);
  const request = identityOf(learnerId, input.referenceText, sha256Hex(input.audio), input.requestedModelVersion ?? null, input.lti ?? null, metadata);

  if (idempotencyKey) {
    const earlier = await findByKey(prisma, organizationId, idempotencyKey);
    if (earlier) return replayOrConflict(earlier, idempotencyKey, request);
  }

  // Decoding and voice activity run here, outside any transaction and before anything is written.
  const times: StageTimes = {};
  const prepared = await intake.inspect(input.audio, input.referenceText, words, times);
  const sha256 = prepared.utterance.audioSha256;
  const writeFile = () => intake.save(input.audio, prepared);

  try {
    // Inside the try: a save that wrote the original and then failed on the decoded samples leaves
    // a file no row points to, which the catch removes like a failed transaction's.
    await timeStage(times, 'store', writeFile);
    const result = await timeStage(times, 'enqueue', () => runTransaction(prisma, async (tx) => {
      await holdAudioForInsert(tx, intake.store, sha256, writeFile);
      const learner = await tx.learner.findUnique({ where: { id: learnerId }, select: { id: true, externalId: true, groups: true } });
      if (!learner) throw new AppError('NOT_FOUND', 'The learner no longer exists.'); // erased since the caller's check
      const utterance = await tx.utterance.create({
        data: {
          organizationId,
          learnerId,
          // The course or class this reading was done in, as the LMS had it then (xAPI grouping).
          learnerGroups: learner.groups,
          metadata,
          idempotencyKey,
          requestFingerprint: idempotencyKey ? requestFingerprint(request) : null,
          ...prepared.utterance,
          referenceWords: prepared.utterance.referenceWords as never,
        },
      });
      const job = await createAssessmentJob(tx, {
        organizationId, utteranceId: utterance.id, maxAttempts: deps.jobMaxAttempts, priority: input.priority ?? 'INTERACTIVE',
        requestedModelVersion: input.requestedModelVersion ?? null,
      });
      await notifyJobChanged(tx, job.id);
      await emitEvent(tx, {
        organizationId, learnerId, type: 'utterance.submitted', data: utteranceSubmitted(utterance, learner, job), at: utterance.createdAt,
      });
      if (input.lti) await writeLtiSubmission(tx, utterance, input.lti);
      await input.alsoWrite?.(tx, utterance);
      return { utterance, job, replayed: false };
    }));
    for (const [stage, ms] of Object.entries(times)) submitStageDuration.observe({ stage }, ms / 1000);
    return result;
  } catch (e) {
    await removeAudioIfUnreferenced(prisma, intake.store, sha256).catch((cleanup: unknown) => {
      // The submit's own error is what the client gets; a file left behind is the operator's to know.
      log.error('could not remove the audio of a failed submit', { audioSha256: sha256, err: cleanup });
    });
    if (idempotencyKey && isUniqueViolation(e)) {
      // A concurrent submit with this key committed first: answer as a retry after it would be.
      const earlier = await findByKey(prisma, organizationId, idempotencyKey);
      if (earlier) return replayOrConflict(earlier, idempotencyKey, request);
      throw new AppError('CONFLICT', `idempotencyKey ${JSON.stringify(idempotencyKey)} is in use by a concurrent request; retry.`, {
        idempotencyKey,
      });
    }
    if (isForeignKeyViolation(e)) throw new AppError('NOT_FOUND', 'The learner no longer exists.');
    throw e;
  }
}
