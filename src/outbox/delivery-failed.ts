/**
 * `gradeDelivery.failed` and `xapiDelivery.failed`: a score the gradebook, or a statement the
 * LRS, will not get without someone acting (the platform refused it, or stayed unreachable through
 * every attempt). Written in the transaction that records the delivery FAILED (an attempt's
 * verdict, or a claim retiring a delivery whose last attempt's process died), so a receiver hears
 * of the give-ups the API shows, and only of those: all of them but one whose learner is being
 * erased, or whose subscribed endpoint deleted, at that very moment (src/outbox/store.ts
 * tellFailure skips the event rather than deadlock). resendFailedGradeDeliveries and
 * resendXapiDelivery then send it again.
 *
 * Not for failures that follow our own side's changes (the score or assessment deleted, the LRS
 * removed): nobody can mend those by re-sending, and removing an LRS would otherwise raise one
 * event per pending statement.
 */
import type { Prisma } from '../generated/prisma/client.js';
import { toGlobalId } from '../graphql/ids.js';
import { emitEvent } from './events.js';
import { assessmentIdOf } from '../xapi/send.js';
import { statementIdFor } from '../xapi/uuid.js';

type Tx = Prisma.TransactionClient;

/** Last error codes that mean the subject or its destination went away on our side. */
const NOT_NOTIFIED = new Set(['SCORE_DELETED', 'ASSESSMENT_DELETED', 'LRS_NOT_CONFIGURED']);

/** The channels whose give-ups raise an event (a webhook's own failure does not: it would feed itself). */
export const NOTIFIED_CHANNELS = new Set(['LTI_SCORE', 'XAPI']);

/** The delivery as every failure event names it. */
/**
 * The delivery as every failure event names it: codes, not `lastError` (which can quote the
 * platform's answer; the delivery itself, read with an admin key, has it).
 */
function deliveryRef(type: 'GradeDelivery' | 'XapiDelivery', d: { id: string; attempts: number; lastErrorCode: string | null; lastStatusCode: number | null }) {
  return { id: toGlobalId(type, d.id), status: 'FAILED', attempts: d.attempts, lastErrorCode: d.lastErrorCode, lastHttpStatus: d.lastStatusCode };
}

/**
 * Emits the failure event of delivery `deliveryId` when it is a FAILED grade or statement delivery
 * worth telling (see above); returns the event's id, or null when none was owed. Call it with the
 * transaction that marked it FAILED.
 */
export async function emitDeliveryFailed(tx: Tx, deliveryId: string): Promise<string | null> {
  const d = await tx.delivery.findUnique({
    where: { id: deliveryId },
    include: { event: { select: { learnerId: true, body: true } }, ltiScore: { include: { lineItem: { select: { id: true, url: true, label: true } } } } },
  });
  if (!d || d.status !== 'FAILED' || !NOTIFIED_CHANNELS.has(d.channel)) return null;
  if (d.lastErrorCode !== null && NOT_NOTIFIED.has(d.lastErrorCode)) return null;
  const score = d.channel === 'LTI_SCORE' ? d.ltiScore : null;
  const utteranceId = score ? await utteranceOf(tx, score) : null;
  // A re-grade's event (ltiLineItem.regraded) is the line item's, not a learner's: the learner is the reading's.
  const learnerId = d.event.learnerId ?? (utteranceId ? (await tx.utterance.findUnique({ where: { id: utteranceId }, select: { learnerId: true } }))?.learnerId : null) ?? null;
  const learner = learnerId ? await tx.learner.findUnique({ where: { id: learnerId }, select: { id: true, externalId: true } }) : null;
  const learnerRef = learner ? { id: toGlobalId('Learner', learner.id), externalId: learner.externalId } : null;
  if (d.channel === 'LTI_SCORE') {
    if (!score) return null;
    return emitEvent(tx, {
      organizationId: d.organizationId,
      learnerId: learner?.id ?? null,
      type: 'gradeDelivery.failed',
      data: {
        gradeDelivery: {
          ...deliveryRef('GradeDelivery', d),
          userId: score.userId, scoreGiven: score.scoreGiven, scoreMaximum: score.scoreMaximum, gradingProgress: score.gradingProgress,
        },
        lineItem: { id: toGlobalId('LtiLineItem', score.lineItem.id), url: score.lineItem.url, label: score.lineItem.label },
        assessment: score.assessmentId ? { id: toGlobalId('Assessment', score.assessmentId) } : null,
        job: score.jobId ? { id: toGlobalId('Job', score.jobId) } : null,
        utterance: utteranceRef(utteranceId),
        learner: learnerRef,
      },
    });
  }
  const assessmentId = assessmentIdOf(d.event.body);
  // Without an assessment, the delivery voids an erasure's or a deletion's statements (src/xapi/voiding.ts).
  const voided = assessmentId ? [] : (await tx.xapiVoiding.findMany({ where: { eventId: d.eventId }, select: { statementId: true }, orderBy: { statementId: 'asc' } })).map((v) => v.statementId);
  if (!assessmentId && voided.length === 0) return null;
  return emitEvent(tx, {
    organizationId: d.organizationId,
    learnerId: learner?.id ?? null,
    type: 'xapiDelivery.failed',
    data: {
      xapiDelivery: { ...deliveryRef('XapiDelivery', d), statementId: assessmentId ? statementIdFor(assessmentId) : null, voidedStatementIds: voided },
      assessment: assessmentId ? { id: toGlobalId('Assessment', assessmentId) } : null,
      utterance: utteranceRef(assessmentId ? await utteranceOf(tx, { assessmentId, jobId: null }) : null),
      learner: learnerRef,
    },
  });
}

/**
 * The recording a score or statement is about. Named in the event so that deleteUtterance, which
 * deletes the events naming the recording, takes this one too.
 */
async function utteranceOf(tx: Tx, subject: { assessmentId: string | null; jobId: string | null }): Promise<string | null> {
  if (subject.assessmentId) return (await tx.assessment.findUnique({ where: { id: subject.assessmentId }, select: { utteranceId: true } }))?.utteranceId ?? null;
  if (subject.jobId) return (await tx.job.findUnique({ where: { id: subject.jobId }, select: { utteranceId: true } }))?.utteranceId ?? null;
  return null;
}

function utteranceRef(id: string | null) {
  return id ? { id: toGlobalId('Utterance', id) } : null;
}
