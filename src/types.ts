/**
 * Domain shapes shared by audio intake, inference, rationale checks, persistence and GraphQL.
 * Scales follow SpeechOcean762 (see ../shared/DESIGN.md): sentence/word 0-10 integers,
 * word stress 5 or 10, phoneme accuracy 0-2 (fractional: the dataset's labels are expert means).
 */

/** One word of a normalised reference text with its canonical ARPAbet phones (stress digits kept). */
export interface ReferenceWord {
  /** Upper-case, as in SpeechOcean762 ("THEME", "DON'T"). */
  text: string;
  phones: string[];
  /** Where the pronunciation came from. */
  source: 'dataset' | 'cmudict' | 'g2p';
}

export interface SentenceScores {
  accuracy: number;
  fluency: number;
  prosody: number;
  completeness: number;
  total: number;
}

export interface PhonemeScore {
  /** Canonical ARPAbet symbol with stress digit, e.g. "IY0". */
  symbol: string;
  accuracy: number;
}

export interface WordScore {
  text: string;
  accuracy: number;
  /** 5 or 10; null when the model did not produce word stress (never invented). */
  stress: 5 | 10 | null;
  total: number;
  phonemes: PhonemeScore[];
}

/**
 * A model's continuous predictions before they are rounded to the integer scales (0-10, 2 decimals):
 * they correlate better with human raters than the integers. Absent for human labels and for
 * models that only produce integers or labels.
 */
export interface ContinuousScores {
  sentence: SentenceScores;
  /** Per reference word, in order. */
  words: { accuracy: number; total: number }[];
}

/** What happened to a reference word: read (NONE), skipped, read wrongly; INSERTED marks extra speech. */
export type WordErrorType = 'NONE' | 'OMITTED' | 'INSERTED' | 'MISPRONOUNCED';

/** Times in ms from the start of the uploaded recording, [startMs, endMs). */
export interface TimeSpan {
  startMs: number;
  endMs: number;
}

/** One canonical phone as the recogniser heard it. */
export interface PhonemeDiagnosis extends TimeSpan {
  /** The phone (ARPAbet, no stress) most likely produced over the phone's frames; null when deleted. */
  produced: string | null;
  /** Its evidence, 0-1 (peak posterior over the phone's frames); null when deleted. */
  producedConfidence: number | null;
  deleted: boolean;
  substituted: boolean;
}

export interface WordDiagnosis extends TimeSpan {
  errorType: Exclude<WordErrorType, 'INSERTED'>;
  phonemes: PhonemeDiagnosis[];
}

/** A silence inside the utterance, between reference word `afterWordIndex` and the next. */
export interface Pause extends TimeSpan {
  afterWordIndex: number;
}

/** Speech that no reference word accounts for, after word `afterWordIndex` (null: before the first). */
export interface Insertion extends TimeSpan {
  afterWordIndex: number | null;
  /** What the recogniser heard there, ARPAbet without stress. */
  phones: string[];
}

/** A pitch contour: one estimate per frame, `hopMs` apart, the first frame centred at `firstMs`. */
export interface PitchTrack {
  hopMs: number;
  firstMs: number;
  /** semitones above 100 Hz, null where no voicing was heard */
  semitones: (number | null)[];
}

/** Timing and miscues from a model's forced alignment; absent for human labels. */
export interface Diagnostics {
  /** Per reference word, in order. */
  words: WordDiagnosis[];
  pauses: Pause[];
  insertions: Insertion[];
  /** The cleaned pitch contour (absent from models without a pitch tracker). */
  pitch?: PitchTrack;
}

/** Labels at every level for one utterance: a model's predictions or a rater's scores. */
export interface AssessmentLabels {
  sentence: SentenceScores;
  words: WordScore[];
  continuous?: ContinuousScores;
  diagnostics?: Diagnostics;
  /** Scores the model did not produce, each with the rule that derived it (absent: all produced). */
  derived?: DerivedRules;
}

/** The rule (named in the model bundle's manifest) behind each derived score. */
export interface DerivedRules {
  completeness?: string;
  total?: string;
  /** Every word's total. */
  wordTotal?: string;
}

export type Polarity = 'criticised' | 'praised';
export type PlausibilityVerdict = 'consistent' | 'inconsistent' | 'not_mentioned';

export const RATIONALE_FLAGS = [
  'SENTIMENT_MISMATCH',
  'UNSUPPORTED_WORD_CRITIQUE',
  'UNSUPPORTED_PHONEME_CRITIQUE',
  'CONTRADICTED_PRAISE',
  'MISSED_ERRORS',
  'UNKNOWN_WORD_MENTION',
  'NO_TOKEN_REFERENCES',
] as const;
export type RationaleFlag = (typeof RATIONALE_FLAGS)[number];

export interface TokenFaithfulness {
  /** Words upper-case as in the reference text; phonemes ARPAbet without stress. */
  criticised: string[];
  praised: string[];
  /** agreeing mentions / mentions; null when there are no mentions. */
  precision: number | null;
  /** error tokens criticised / error tokens; null when no token is labelled an error. */
  recall: number | null;
  mentions: number;
  agreeing: number;
  errorTokens: number;
  errorTokensCriticised: number;
}

export interface RationaleCheck {
  flags: RationaleFlag[];
  plausibility: {
    accuracy: PlausibilityVerdict;
    fluency: PlausibilityVerdict;
    prosody: PlausibilityVerdict;
    overall: PlausibilityVerdict;
  };
  words: TokenFaithfulness;
  phonemes: TokenFaithfulness;
  /** Quoted words that are not in the reference text. */
  unknownWords: string[];
}
