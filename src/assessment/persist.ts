import { randomUUID } from 'node:crypto';
import type { Prisma } from '../generated/prisma/client.js';
import type { AssessmentLabels, RationaleCheck } from '../types.js';
import type { HumanCheck } from './human.js';
import type { AssessmentFlag } from './wrong-text.js';
import { applyNewModelAssessment } from '../analytics/rollup.js';
import { encodeTimeline } from './timeline-codec.js';

export interface AssessmentRecord {
  organizationId: string;
  utteranceId: string;
  jobId: string | null;
  source: 'MODEL' | 'HUMAN';
  model: { name: string; version: string; executionProvider: string } | null;
  inferenceMs: number | null;
  labels: AssessmentLabels;
  /** The model's content-match score (0-1) and the outcome flags it led to (./wrong-text.ts). */
  contentMatch?: number | null;
  flags?: AssessmentFlag[];
  rationale: RationaleRecord | null;
  /** Who supplied HUMAN labels. */
  rater?: string | null;
  /** When it was made; now by default (imports and test histories give their own). */
  createdAt?: Date;
  /** The caller already holds the utterance's row lock in this transaction (the worker does). */
  utteranceLocked?: boolean;
  /**
   * Whether the utterance had a model assessment before this one, when the caller knows (the worker
   * asks under its lock): without one, and written now, the new one is the latest and nothing is to
   * be marked superseded.
   */
  earlierModelAssessment?: boolean;
}

export interface RationaleRecord {
  text: string;
  check: RationaleCheck;
  /** The check against the utterance's human labels, when it has them (see ./human.ts). */
  humanCheck?: HumanCheck | null;
}

/** The sentence's continuous predictions as Assessment columns (all null when there are none). */
function continuousSentence(labels: AssessmentLabels) {
  const c = labels.continuous?.sentence;
  return {
    accuracyScore: c?.accuracy ?? null,
    fluencyScore: c?.fluency ?? null,
    prosodyScore: c?.prosody ?? null,
    completenessScore: c?.completeness ?? null,
    totalScore: c?.total ?? null,
  };
}

/** A phoneme's timing and miscue columns (all null without a model alignment). */
function phonemeDiagnosis(labels: AssessmentLabels, word: number, index: number) {
  const d = labels.diagnostics?.words[word]?.phonemes[index];
  return {
    startMs: d?.startMs ?? null,
    endMs: d?.endMs ?? null,
    producedSymbol: d?.produced ?? null,
    producedConfidence: d?.producedConfidence ?? null,
    deleted: d?.deleted ?? null,
    substituted: d?.substituted ?? null,
  };
}

/**
 * Write one whole assessment (sentence, words, phonemes, rationale) with a fixed number of
 * statements whatever its length: ids are made here so words and phonemes go in with createMany.
 * Call inside a transaction so a reader never sees half of it.
 */
export async function writeAssessment(tx: Prisma.TransactionClient, record: AssessmentRecord): Promise<string> {
  const { organizationId, labels } = record;
  const assessmentId = randomUUID();
  // Sound rollups: lock the utterance before the insert's FK lock on it, so model assessments of one
  // utterance are written one after the other and each sees the latest before it.
  if (record.source === 'MODEL' && !record.utteranceLocked) await tx.$queryRaw`SELECT 1 FROM "Utterance" WHERE id = ${record.utteranceId}::uuid FOR UPDATE`;
  await tx.assessment.create({
    data: {
      id: assessmentId,
      organizationId,
      utteranceId: record.utteranceId,
      jobId: record.jobId,
      source: record.source,
      modelName: record.model?.name ?? null,
      modelVersion: record.model?.version ?? null,
      executionProvider: record.model?.executionProvider ?? null,
      inferenceMs: record.inferenceMs,
      rater: record.rater ?? null,
      contentMatch: record.contentMatch ?? null,
      flags: record.flags ?? [],
      ...(record.createdAt ? { createdAt: record.createdAt } : {}),
      ...labels.sentence,
      ...continuousSentence(labels),
      ...(labels.diagnostics ? { timeline: encodeTimeline(labels.diagnostics) as unknown as Prisma.InputJsonValue } : {}),
      completenessRule: labels.derived?.completeness ?? null,
      totalRule: labels.derived?.total ?? null,
      wordTotalRule: labels.derived?.wordTotal ?? null,
    },
  });
  const words = labels.words.map((w, index) => ({ id: randomUUID(), index, word: w }));
  await tx.wordAssessment.createMany({
    data: words.map(({ id, index, word }) => ({
      id,
      organizationId,
      assessmentId,
      index,
      text: word.text,
      accuracy: word.accuracy,
      stress: word.stress,
      total: word.total,
      accuracyScore: labels.continuous?.words[index]?.accuracy ?? null,
      totalScore: labels.continuous?.words[index]?.total ?? null,
      startMs: labels.diagnostics?.words[index]?.startMs ?? null,
      endMs: labels.diagnostics?.words[index]?.endMs ?? null,
      errorType: labels.diagnostics?.words[index]?.errorType ?? null,
    })),
  });
  await tx.phonemeAssessment.createMany({
    data: words.flatMap(({ id, index: wi, word }) =>
      word.phonemes.map((p, index) => ({
        organizationId,
        assessmentId,
        wordAssessmentId: id,
        index,
        symbol: p.symbol,
        accuracy: p.accuracy,
        ...phonemeDiagnosis(labels, wi, index),
      })),
    ),
  });
  if (record.rationale) await writeRationale(tx, organizationId, assessmentId, record.rationale);
  // Sound rollups (src/analytics/rollup.ts), in this same transaction: HUMAN labels do not count.
  if (record.source === 'MODEL') {
    await applyNewModelAssessment(tx, organizationId, record.utteranceId, assessmentId);
    if (record.earlierModelAssessment !== false) await markSuperseded(tx, organizationId, [record.utteranceId]);
  }
  return assessmentId;
}

/**
 * The model assessments of `utteranceIds` marked as the migration that added the column marks them:
 * each but an utterance's latest (by createdAt, then id) superseded at the next one's createdAt, the
 * latest not. Recomputed over the utterance's few rows rather than patched, so an assessment given an
 * older time (an import of history) lands in its place. Under the utterance's row lock, like the
 * rollups; the seeder calls it for each batch it inserts.
 */
export async function markSuperseded(tx: Prisma.TransactionClient, organizationId: string, utteranceIds: readonly string[]): Promise<void> {
  await tx.$executeRaw`
    UPDATE "Assessment" a SET "supersededAt" = n."next"
      FROM (SELECT "id", lead("createdAt") OVER (PARTITION BY "utteranceId" ORDER BY "createdAt", "id") AS "next"
              FROM "Assessment"
             WHERE "organizationId" = ${organizationId}::uuid AND "utteranceId" = ANY(${[...utteranceIds]}::uuid[]) AND "source" = 'MODEL') n
     WHERE a."id" = n."id" AND a."supersededAt" IS DISTINCT FROM n."next"`;
}

async function writeRationale(
  tx: Prisma.TransactionClient,
  organizationId: string,
  assessmentId: string,
  { text, check, humanCheck }: RationaleRecord,
) {
  await tx.rationale.create({
    data: {
      organizationId,
      assessmentId,
      text,
      flags: check.flags,
      plausibility: check.plausibility,
      wordCheck: check.words as unknown as Prisma.InputJsonValue,
      phonemeCheck: check.phonemes as unknown as Prisma.InputJsonValue,
      wordPrecision: check.words.precision,
      wordRecall: check.words.recall,
      phonemePrecision: check.phonemes.precision,
      phonemeRecall: check.phonemes.recall,
      // Omitted rather than JSON null, so "no human labels" is SQL NULL.
      ...(humanCheck ? { humanCheck: humanCheck as unknown as Prisma.InputJsonValue } : {}),
    },
  });
}
