/**
 * Human labels (a rater's or a dataset's) and the checks of model rationales against them
 * (DESIGN.md "Rationale checks": ground-truth alignment).
 *
 * Consistency rule: a model rationale's `humanCheck` always reflects the utterance's latest HUMAN
 * assessment. Both writers (attaching labels, and the worker writing a model assessment) first lock
 * the utterance row, so neither can miss the other's uncommitted write.
 */
import type { Prisma } from '../generated/prisma/client.js';
import { AppError, badInput } from '../errors.js';
import { checkRationale } from '../rationale/check.js';
import type {
  AssessmentLabels, RationaleCheck, ReferenceWord, SentenceScores, TokenFaithfulness, WordScore,
} from '../types.js';
import { writeAssessment } from './persist.js';
import { notifyAssessmentCreated } from '../events/notify.js';
import { emitEvent, humanLabelsAttached } from '../outbox/events.js';
import { regradeRatedReading } from '../lti/regrade.js';

/** As the API (HumanLabelsInput) and the importer supply them, not yet validated. */
export interface HumanLabelsInput {
  sentence: SentenceScores;
  words?: { text: string; accuracy: number; stress: number; total: number; phonemes: number[] }[] | null;
}

/** Validated labels; `words` null when the rater scored the sentence only. */
export interface HumanLabels {
  sentence: SentenceScores;
  words: WordScore[] | null;
}

/** Stored in Rationale.humanCheck. */
export interface HumanCheck extends Omit<RationaleCheck, 'words' | 'phonemes'> {
  humanAssessmentId: string;
  /** Null when the human labels have no word level. */
  words: TokenFaithfulness | null;
  phonemes: TokenFaithfulness | null;
}

type Tx = Prisma.TransactionClient;

const SENTENCE_KEYS = ['accuracy', 'fluency', 'prosody', 'completeness', 'total'] as const;

/** A refusal naming `path` (`labels.words[2].accuracy`) in its message and, dotted, as the argument. */
function bad(message: string, path: string): AppError {
  return badInput(message, path.replace(/\[(\d+)\]/g, '.$1'));
}

function requireInt(value: number, min: number, max: number, path: string): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw bad(`${path} must be an integer from ${min} to ${max} (got ${value}).`, path);
  }
}

function validateWord(input: NonNullable<HumanLabelsInput['words']>[number], ref: ReferenceWord, i: number): WordScore {
  const path = `labels.words[${i}]`;
  if (input.text.trim().toUpperCase() !== ref.text) {
    throw bad(`${path}.text is "${input.text}" but reference word ${i} is "${ref.text}".`, `${path}.text`);
  }
  requireInt(input.accuracy, 0, 10, `${path}.accuracy`);
  requireInt(input.total, 0, 10, `${path}.total`);
  if (input.stress !== 5 && input.stress !== 10) throw bad(`${path}.stress must be 5 or 10 (got ${input.stress}).`, `${path}.stress`);
  if (input.phonemes.length !== ref.phones.length) {
    throw bad(
      `${path}.phonemes has ${input.phonemes.length} scores but "${ref.text}" has ${ref.phones.length} ` +
        `canonical phones (${ref.phones.join(' ')}).`,
      `${path}.phonemes`,
    );
  }
  input.phonemes.forEach((a, j) => {
    if (!Number.isFinite(a) || a < 0 || a > 2) throw bad(`${path}.phonemes[${j}] must be from 0 to 2 (got ${a}).`, `${path}.phonemes[${j}]`);
  });
  return {
    text: ref.text,
    accuracy: input.accuracy,
    stress: input.stress,
    total: input.total,
    // Symbols come from the utterance, so human and model phonemes line up by position.
    phonemes: ref.phones.map((symbol, j) => ({ symbol, accuracy: input.phonemes[j]! })),
  };
}

/** Every check a rater's input must pass, with the path of the first offending field. */
export function validateHumanLabels(input: HumanLabelsInput, reference: ReferenceWord[]): HumanLabels {
  for (const key of SENTENCE_KEYS) requireInt(input.sentence[key], 0, 10, `labels.sentence.${key}`);
  const sentence = Object.fromEntries(SENTENCE_KEYS.map((k) => [k, input.sentence[k]])) as unknown as SentenceScores;
  if (input.words == null) return { sentence, words: null };
  if (input.words.length !== reference.length) {
    throw bad(
      `labels.words has ${input.words.length} entries but the reference text has ${reference.length} words ` +
        `(${reference.map((w) => w.text).join(' ')}); give every word in order, or omit words.`,
      'labels.words',
    );
  }
  return { sentence, words: input.words.map((w, i) => validateWord(w, reference[i]!, i)) };
}

/** Word labels that criticise nothing: enough for the sentence-level (plausibility) check alone. */
function neutralWords(reference: ReferenceWord[]): WordScore[] {
  return reference.map((w) => ({
    text: w.text, accuracy: 10, stress: 10, total: 10, phonemes: w.phones.map((symbol) => ({ symbol, accuracy: 2 })),
  }));
}

/** A rationale checked against human labels; sentence-only labels can only judge plausibility. */
export function checkAgainstHuman(
  text: string,
  human: HumanLabels & { id: string },
  reference: ReferenceWord[],
): HumanCheck {
  if (human.words) {
    const check = checkRationale(text, { sentence: human.sentence, words: human.words });
    return { ...check, humanAssessmentId: human.id };
  }
  const check = checkRationale(text, { sentence: human.sentence, words: neutralWords(reference) });
  return {
    flags: check.flags.filter((f) => f === 'SENTIMENT_MISMATCH'),
    plausibility: check.plausibility,
    words: null,
    phonemes: null,
    unknownWords: check.unknownWords,
    humanAssessmentId: human.id,
  };
}

/**
 * Serialises the writers of one utterance's assessments (see the module comment). The learner
 * first, FOR KEY SHARE (the event written later references it): the order an erasure, an utterance
 * deletion and a settling job lock in, so none of them holds what another waits for.
 */
async function lockUtterance(tx: Tx, utteranceId: string): Promise<void> {
  await tx.$queryRaw`
    SELECT 1 FROM "Learner" l JOIN "Utterance" u ON u."learnerId" = l."id" WHERE u.id = ${utteranceId}::uuid FOR KEY SHARE OF l`;
  await tx.$queryRaw`SELECT 1 FROM "Utterance" WHERE id = ${utteranceId}::uuid FOR UPDATE`;
}

/** The utterance's latest HUMAN labels, with words and phonemes, or null. */
export async function latestHumanLabels(
  tx: Tx,
  organizationId: string,
  utteranceId: string,
): Promise<(HumanLabels & { id: string }) | null> {
  const row = await tx.assessment.findFirst({
    where: { organizationId, utteranceId, source: 'HUMAN' },
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    include: { words: { orderBy: { index: 'asc' }, include: { phonemes: { orderBy: { index: 'asc' } } } } },
  });
  if (!row) return null;
  const words = row.words.map((w) => ({
    text: w.text, accuracy: w.accuracy, stress: w.stress as 5 | 10, total: w.total,
    phonemes: w.phonemes.map((p) => ({ symbol: p.symbol, accuracy: p.accuracy })),
  }));
  // A reference text always has a word, so no stored words means sentence-only labels.
  return { id: row.id, sentence: row, words: words.length > 0 ? words : null };
}

/**
 * For the worker, inside the transaction that writes a model assessment: locks the utterance (see
 * the module comment; writeAssessment then need not lock it again) and returns the new rationale's
 * check against the utterance's human labels (null when it has none), and whether the utterance
 * has an earlier model assessment (without one, writeAssessment has nothing to mark superseded).
 */
export async function lockForModelAssessment(
  tx: Tx,
  utterance: { id: string; organizationId: string; referenceWords: unknown },
  text: string,
): Promise<{ humanCheck: HumanCheck | null; earlierModelAssessment: boolean }> {
  // The lock and "has it any human labels, any model assessment?" in one round trip: most
  // utterances have neither, and then the labels are not looked up at all.
  const [row] = await tx.$queryRaw<{ hasHuman: boolean; hasModel: boolean }[]>`
    SELECT EXISTS (SELECT 1 FROM "Assessment" a
                    WHERE a."organizationId" = u."organizationId" AND a."utteranceId" = u.id AND a.source = 'HUMAN') AS "hasHuman",
           EXISTS (SELECT 1 FROM "Assessment" a
                    WHERE a."organizationId" = u."organizationId" AND a."utteranceId" = u.id AND a.source = 'MODEL') AS "hasModel"
      FROM "Utterance" u WHERE u.id = ${utterance.id}::uuid FOR UPDATE OF u`;
  const earlierModelAssessment = row?.hasModel ?? true;
  if (!row?.hasHuman) return { humanCheck: null, earlierModelAssessment };
  const human = await latestHumanLabels(tx, utterance.organizationId, utterance.id);
  return { humanCheck: human ? checkAgainstHuman(text, human, utterance.referenceWords as ReferenceWord[]) : null, earlierModelAssessment };
}

/** lockForModelAssessment's check alone. */
export async function humanCheckForNewRationale(
  tx: Tx,
  utterance: { id: string; organizationId: string; referenceWords: unknown },
  text: string,
): Promise<HumanCheck | null> {
  return (await lockForModelAssessment(tx, utterance, text)).humanCheck;
}

/**
 * Store validated human labels, re-check every model rationale of the utterance against them, write
 * the `humanLabels.attached` outbox event and, for a reading submitted to an LTI line item, post its
 * user's grade again with the rater's scores counted (src/lti/grading.ts). Call inside a
 * transaction; returns the new HUMAN assessment's id and how many grades were queued (0 or 1).
 */
export async function writeHumanLabels(
  tx: Tx,
  record: {
    organizationId: string;
    utterance: { id: string; referenceWords: unknown; learnerId: string; referenceText: string; createdAt: Date; metadata: unknown };
    labels: HumanLabels;
    rater: string | null;
  },
): Promise<{ id: string; gradesReposted: number }> {
  const { organizationId, utterance, labels } = record;
  await lockUtterance(tx, utterance.id);
  const stored: AssessmentLabels = { sentence: labels.sentence, words: labels.words ?? [] };
  const id = await writeAssessment(tx, {
    organizationId, utteranceId: utterance.id, jobId: null, source: 'HUMAN', model: null,
    inferenceMs: null, labels: stored, rationale: null, rater: record.rater,
  });
  await notifyAssessmentCreated(tx, id);
  const reference = utterance.referenceWords as ReferenceWord[];
  const rationales = await tx.rationale.findMany({
    where: { organizationId, assessment: { utteranceId: utterance.id, source: 'MODEL' } },
    select: { id: true, text: true },
  });
  // One update per model assessment of this one utterance: a handful at most.
  for (const r of rationales) {
    const humanCheck = checkAgainstHuman(r.text, { ...labels, id }, reference);
    await tx.rationale.update({ where: { id: r.id }, data: { humanCheck: humanCheck as unknown as Prisma.InputJsonValue } });
  }
  const learner = await tx.learner.findUniqueOrThrow({ where: { id: utterance.learnerId }, select: { id: true, externalId: true } });
  const eventId = await emitEvent(tx, {
    organizationId,
    learnerId: learner.id,
    type: 'humanLabels.attached',
    data: humanLabelsAttached({ assessmentId: id, rater: record.rater, labels, utterance, learner }),
  });
  const gradesReposted = await regradeRatedReading(tx, { organizationId, utteranceId: utterance.id, eventId });
  return { id, gradesReposted };
}
