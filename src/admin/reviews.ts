/**
 * People's verdicts on model rationales (`reviewRationale`): the review queue
 * (`flaggedAssessments(reviewed: false)`) shrinks as operators and teachers read it, and
 * rationaleAnalytics can say how often the automatic checks' flags were right. A rationale keeps
 * its latest verdict; every verdict is in the audit log, written in the same transaction.
 */
import type { PrismaClient, RationaleReview, RationaleVerdict } from '../generated/prisma/client.js';
import { AppError, badInput } from '../errors.js';
import { recordAudit, type Actor } from './audit.js';

export const MAX_REVIEW_NOTE_CHARS = 2000;

/** The note as stored: trimmed, null when blank; BAD_USER_INPUT when too long. */
export function normaliseReviewNote(note: string | null | undefined): string | null {
  const trimmed = note?.trim() ?? '';
  if (trimmed.length > MAX_REVIEW_NOTE_CHARS) {
    throw badInput(`note must be at most ${MAX_REVIEW_NOTE_CHARS} characters (it has ${trimmed.length}).`, 'note');
  }
  return trimmed || null;
}

export interface ReviewRequest {
  organizationId: string;
  /** The model assessment's database id. */
  assessmentId: string;
  /** Its global id, as the caller named it (error messages). */
  assessmentGlobalId: string;
  verdict: RationaleVerdict;
  note: string | null | undefined;
  actor: Actor;
}

/**
 * Record (or replace) the verdict on an assessment's rationale. NOT_FOUND when the organisation has
 * no such assessment; BAD_USER_INPUT when it has no rationale. The rationale row is locked, so an
 * erasure running beside it either finishes first (NOT_FOUND) or waits for the review, and two
 * reviews of one rationale take turns (each audit event names the verdict it replaced).
 *
 * The audit event holds the verdict and the note's length, not the note: a note is about a learner
 * and goes with them on erasure, while the audit log is kept.
 */
export async function reviewRationale(prisma: PrismaClient, request: ReviewRequest): Promise<RationaleReview> {
  const note = normaliseReviewNote(request.note);
  const { organizationId, assessmentId, verdict, actor } = request;
  return prisma.$transaction(async (tx) => {
    const [rationale] = await tx.$queryRaw<{ id: string; flags: string[] }[]>`
      SELECT id, flags FROM "Rationale"
      WHERE "organizationId" = ${organizationId}::uuid AND "assessmentId" = ${assessmentId}::uuid
      FOR UPDATE`;
    if (!rationale) {
      const assessment = await tx.assessment.findFirst({ where: { organizationId, id: assessmentId }, select: { source: true } });
      if (!assessment) throw new AppError('NOT_FOUND', `No Assessment with id "${request.assessmentGlobalId}".`);
      throw badInput(assessment.source === 'HUMAN'
        ? 'This assessment holds human labels; only a model assessment has a rationale to review.'
        : 'This model assessment has no rationale to review.', 'assessmentId');
    }
    const previous = await tx.rationaleReview.findUnique({ where: { rationaleId: rationale.id }, select: { verdict: true } });
    const fields = { verdict, note, reviewerApiKeyId: actor.apiKeyId, reviewer: actor.label, reviewedAt: new Date() };
    const review = await tx.rationaleReview.upsert({
      where: { rationaleId: rationale.id },
      create: { organizationId, rationaleId: rationale.id, ...fields },
      update: fields,
    });
    await recordAudit(tx, {
      organizationId, actor, action: 'rationale.reviewed', targetType: 'Assessment', targetId: assessmentId,
      details: { verdict, previousVerdict: previous?.verdict ?? null, flags: rationale.flags, noteChars: note?.length ?? 0 },
    });
    return review;
  });
}
