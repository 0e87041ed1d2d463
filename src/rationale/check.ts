/**
 * Rationale checks (DESIGN.md "Rationale checks"): plausibility of what a rationale says about each
 * sentence-level aspect, and faithfulness of the words and phonemes it criticises or praises,
 * both against a set of labels (the model's own, or a rater's).
 */
import type {
  AssessmentLabels, PlausibilityVerdict, RationaleCheck, RationaleFlag, TokenFaithfulness,
} from '../types.js';
import { RATIONALE_FLAGS } from '../types.js';
import { analyse, type AspectSentiment, type Mention } from './analyse.js';
import { hedgeSupport, type HedgeSupport } from './hedges.js';
import type { RationaleCalibration } from './calibration.js';
import type { Aspect } from './lexicon.js';
import {
  indexReference, PHONEME_ERROR_BELOW, WORD_ERROR_BELOW, type PhonemeOccurrence, type ReferenceIndex,
} from './reference.js';

export type SentimentClass = 'positive' | 'negative' | 'neutral' | 'mixed';

/** Below this summed weight a side is noise ("some minor pauses" alone still counts: 0.25+). */
const PRESENT = 0.2;
/** One side dominates a mixed statement when it is at least this many times the other. */
const DOMINANCE = 1.5;
/** A single cue this strong ("excellent", "very poor", "9/10") is too strong for a 5-7 label. */
const STRONG = 1.5;

export function classifySentiment(a: AspectSentiment): SentimentClass {
  const pos = a.positive >= PRESENT;
  const neg = a.negative >= PRESENT;
  if (!pos && !neg) return 'neutral';
  if (pos && neg) {
    if (a.positive >= DOMINANCE * a.negative) return 'positive';
    if (a.negative >= DOMINANCE * a.positive) return 'negative';
    return 'mixed';
  }
  return pos ? 'positive' : 'negative';
}

/**
 * Band rule: 8-10 needs positive; 0-4 needs negative; 5-7 accepts neutral, mixed, and a mildly
 * positive or negative statement ("fairly smooth", "some hesitation"), but not a strong one
 * ("excellent", "very choppy"): a mid score is where teachers hedge, so only strong claims clash.
 */
export type Band = 'low' | 'mid' | 'high';

/** DESIGN.md bands on the 0-10 scale; fractional predictions are rounded first. */
export function bandOf(label: number): Band {
  const r = Math.round(label);
  return r >= 8 ? 'high' : r >= 5 ? 'mid' : 'low';
}

export function verdictFor(label: number, a: AspectSentiment): PlausibilityVerdict {
  if (!a.hasCue) return 'not_mentioned';
  const cls = classifySentiment(a);
  const band = bandOf(label);
  if (band === 'high') return cls === 'positive' ? 'consistent' : 'inconsistent';
  if (band === 'low') return cls === 'negative' ? 'consistent' : 'inconsistent';
  if (cls === 'positive') return a.maxPositive >= STRONG ? 'inconsistent' : 'consistent';
  if (cls === 'negative') return a.maxNegative >= STRONG ? 'inconsistent' : 'consistent';
  return 'consistent';
}

const LABEL_OF: Record<Aspect, (l: AssessmentLabels) => number> = {
  accuracy: (l) => l.sentence.accuracy,
  fluency: (l) => l.sentence.fluency,
  prosody: (l) => l.sentence.prosody,
  overall: (l) => l.sentence.total,
};

/** What the checker judges hedges by: the calibration the writer used (the shipped one unless given). */
export interface CheckOptions {
  calibration?: RationaleCalibration;
}

export function checkRationale(rationale: string, labels: AssessmentLabels, options: CheckOptions = {}): RationaleCheck {
  const ref = indexReference(labels);
  const analysis = analyse(rationale, ref);
  const plausibility = {
    accuracy: verdictFor(LABEL_OF.accuracy(labels), analysis.aspects.accuracy),
    fluency: verdictFor(LABEL_OF.fluency(labels), analysis.aspects.fluency),
    prosody: verdictFor(LABEL_OF.prosody(labels), analysis.aspects.prosody),
    overall: verdictFor(LABEL_OF.overall(labels), analysis.aspects.overall),
  };
  const wordMentions = analysis.mentions.filter((m) => m.type === 'word');
  const phonemeMentions = analysis.mentions.filter((m) => m.type === 'phoneme');
  const hedge = hedgeSupport(rationale, labels, ref, options.calibration);
  const words = wordFaithfulness(wordMentions, labels, ref, hedge);
  const phonemes = phonemeFaithfulness(phonemeMentions, ref, hedge);
  const unknownWords = [...new Set(analysis.unknownWords)];
  const flags = collectFlags({
    sentiment: Object.values(plausibility).includes('inconsistent'),
    words, phonemes, unknownWords,
    // A word named only as a phoneme's location still names a token.
    anyMention: analysis.mentions.length > 0,
    ...praiseAndCritique(wordMentions, phonemeMentions, labels, ref),
  });
  return { flags, plausibility, words: words.result, phonemes: phonemes.result, unknownWords };
}

// ---------------------------------------------------------------------------------------------
// Faithfulness

interface Faithfulness {
  result: TokenFaithfulness;
  unsupportedCritique: boolean;
}

/** Distinct (key, polarity) pairs in order of first mention: repeating a word is one mention. */
function distinct(mentions: Mention[], polarity: 'criticised' | 'praised'): string[] {
  const seen = new Set<string>();
  for (const m of mentions) if (m.polarity === polarity) seen.add(m.key);
  return [...seen];
}

function wordIsError(labels: AssessmentLabels, i: number): boolean {
  return labels.words[i]!.accuracy < WORD_ERROR_BELOW;
}

/** A criticised word agrees when any occurrence is an error; a praised one when none is. */
function wordAgrees(key: string, polarity: 'criticised' | 'praised', labels: AssessmentLabels, ref: ReferenceIndex): boolean {
  const idx = ref.wordIndices.get(key) ?? [];
  if (idx.length === 0) return false;
  return polarity === 'criticised' ? idx.some((i) => wordIsError(labels, i)) : idx.every((i) => !wordIsError(labels, i));
}

function wordFaithfulness(mentions: Mention[], labels: AssessmentLabels, ref: ReferenceIndex, hedge: HedgeSupport): Faithfulness {
  const criticised = distinct(mentions, 'criticised');
  const praised = distinct(mentions, 'praised');
  const critAgree = criticised.filter((k) => wordAgrees(k, 'criticised', labels, ref) || hedge.word(k)).length;
  const praiseAgree = praised.filter((k) => wordAgrees(k, 'praised', labels, ref)).length;
  const crit = new Set(criticised);
  let errorTokens = 0;
  let covered = 0;
  labels.words.forEach((w, i) => {
    if (!wordIsError(labels, i)) return;
    errorTokens++;
    if (crit.has(w.text.toUpperCase())) covered++;
  });
  return {
    result: summarise(criticised, praised, critAgree + praiseAgree, errorTokens, covered),
    unsupportedCritique: critAgree < criticised.length,
  };
}

function summarise(criticised: string[], praised: string[], agreeing: number, errorTokens: number, covered: number): TokenFaithfulness {
  const mentions = criticised.length + praised.length;
  return {
    criticised, praised,
    precision: mentions === 0 ? null : agreeing / mentions,
    recall: errorTokens === 0 ? null : covered / errorTokens,
    mentions, agreeing, errorTokens, errorTokensCriticised: covered,
  };
}

/**
 * Which occurrences of a phoneme a mention is about: those inside words named in the same clause
 * ("the /TH/ in 'THINK'"), or every occurrence when the clause names no word containing it.
 */
function scopedOccurrences(m: Mention, ref: ReferenceIndex): PhonemeOccurrence[] {
  const all = ref.phonemes.get(m.key) ?? [];
  if (m.scopeWords.length === 0) return all;
  const words = new Set<number>();
  for (const w of m.scopeWords) for (const i of ref.wordIndices.get(w) ?? []) words.add(i);
  const scoped = all.filter((o) => words.has(o.word));
  return scoped.length > 0 ? scoped : all;
}

/** Merges repeated mentions of one phoneme with one polarity; scopes add up. */
function mergePhonemes(mentions: Mention[], polarity: 'criticised' | 'praised', ref: ReferenceIndex): Map<string, PhonemeOccurrence[]> {
  const merged = new Map<string, PhonemeOccurrence[]>();
  for (const m of mentions) {
    if (m.polarity !== polarity) continue;
    const occ = scopedOccurrences(m, ref);
    const prev = merged.get(m.key);
    merged.set(m.key, prev ? [...new Set([...prev, ...occ])] : occ);
  }
  return merged;
}

/**
 * A criticised phoneme agrees when any occurrence in scope is an error (the learner got at least
 * one wrong); a praised one when it occurs and none in scope is.
 */
function phonemeFaithfulness(mentions: Mention[], ref: ReferenceIndex, hedge: HedgeSupport): Faithfulness {
  const crit = mergePhonemes(mentions, 'criticised', ref);
  const praise = mergePhonemes(mentions, 'praised', ref);
  let critAgree = 0;
  for (const [key, occ] of crit) if (occ.some((o) => o.accuracy < PHONEME_ERROR_BELOW) || hedge.phoneme(key, occ)) critAgree++;
  let praiseAgree = 0;
  for (const occ of praise.values()) if (occ.length > 0 && occ.every((o) => o.accuracy >= PHONEME_ERROR_BELOW)) praiseAgree++;
  const covered = new Set<PhonemeOccurrence>();
  for (const occ of crit.values()) for (const o of occ) if (o.accuracy < PHONEME_ERROR_BELOW) covered.add(o);
  return {
    result: summarise([...crit.keys()], [...praise.keys()], critAgree + praiseAgree, ref.phonemeErrors, covered.size),
    unsupportedCritique: critAgree < crit.size,
  };
}

/** CONTRADICTED_PRAISE: a praised word with an error occurrence, or a praised phoneme with one in scope. */
function praiseAndCritique(words: Mention[], phonemes: Mention[], labels: AssessmentLabels, ref: ReferenceIndex): { contradicted: boolean } {
  const badWord = distinct(words, 'praised').some((k) => (ref.wordIndices.get(k) ?? []).some((i) => wordIsError(labels, i)));
  let badPhoneme = false;
  for (const occ of mergePhonemes(phonemes, 'praised', ref).values()) {
    if (occ.some((o) => o.accuracy < PHONEME_ERROR_BELOW)) badPhoneme = true;
  }
  return { contradicted: badWord || badPhoneme };
}

interface FlagInput {
  sentiment: boolean;
  words: Faithfulness;
  phonemes: Faithfulness;
  unknownWords: string[];
  anyMention: boolean;
  contradicted: boolean;
}

function collectFlags(f: FlagInput): RationaleFlag[] {
  const errors = f.words.result.errorTokens + f.phonemes.result.errorTokens;
  const caught = f.words.result.errorTokensCriticised + f.phonemes.result.errorTokensCriticised;
  const on: Record<RationaleFlag, boolean> = {
    SENTIMENT_MISMATCH: f.sentiment,
    UNSUPPORTED_WORD_CRITIQUE: f.words.unsupportedCritique,
    UNSUPPORTED_PHONEME_CRITIQUE: f.phonemes.unsupportedCritique,
    CONTRADICTED_PRAISE: f.contradicted,
    MISSED_ERRORS: errors > 0 && caught === 0,
    UNKNOWN_WORD_MENTION: f.unknownWords.length > 0,
    NO_TOKEN_REFERENCES: !f.anyMention,
  };
  return RATIONALE_FLAGS.filter((flag) => on[flag]);
}

// ---------------------------------------------------------------------------------------------
// Precision of critique alone (scripts/eval/rationales.ts)

/** Which of the criticised words and phonemes the labels bear out. */
export interface CriticismAgreement {
  words: string[];
  phonemes: string[];
}

/**
 * checkRationale, plus the criticised tokens that agree with the labels by the rules above (a word
 * with an error occurrence, a phoneme with an error occurrence in scope; hedged or not): the
 * precision of criticism alone, which TokenFaithfulness.precision (praise and critique together)
 * does not give. Reads the rationale a second time, so checkRationale itself stays as cheap as it was.
 */
export function checkRationaleDetailed(
  rationale: string,
  labels: AssessmentLabels,
): RationaleCheck & { criticisedAgreeing: CriticismAgreement } {
  const check = checkRationale(rationale, labels);
  const ref = indexReference(labels);
  const { mentions } = analyse(rationale, ref);
  const words = distinct(mentions.filter((m) => m.type === 'word'), 'criticised').filter((k) => wordAgrees(k, 'criticised', labels, ref));
  const phonemes = [...mergePhonemes(mentions.filter((m) => m.type === 'phoneme'), 'criticised', ref)]
    .filter(([, occ]) => occ.some((o) => o.accuracy < PHONEME_ERROR_BELOW))
    .map(([key]) => key);
  return { ...check, criticisedAgreeing: { words, phonemes } };
}
