/**
 * One finished assessment as an xAPI 1.0.3 statement (https://github.com/adlnet/xAPI-Spec).
 *
 * Every part is derived from stored rows and settings only, so building the statement twice gives
 * the same JSON: the id is a UUID v5 of the assessment id (a re-send is a duplicate the LRS keeps
 * once), the activity IRI is derived from the normalised reference text (two spellings of one
 * sentence are one activity), and nothing reads the clock.
 *
 * Verb: ADL's `scored`, not `answered`. The statement reports a machine-made score of a reading, and
 * a re-assessment by a newer model is a new `scored` statement about the same attempt; `answered`
 * would claim the learner answered again, and implies an interaction with a correct response.
 */
import { createHash } from 'node:crypto';
import type { XapiConfig } from '../config.js';
import { toGlobalId } from '../graphql/ids.js';
import type { SentenceScores } from '../types.js';
import type { Metadata } from '../assessment/metadata.js';
import { statementIdFor } from './uuid.js';

export const XAPI_VERSION = '1.0.3';
export const VERB_SCORED = { id: 'http://adlnet.gov/expapi/verbs/scored', display: { 'en-US': 'scored' } } as const;
/** ADL's activity type for one task within an assessment; the task is reading the sentence aloud. */
export const ACTIVITY_TYPE = 'http://adlnet.gov/expapi/activities/cmi.interaction';
export const PLATFORM = 'speechmark';
/** Sentence and word scores are 0-10, phoneme accuracy 0-2 (SpeechOcean762 scales). */
export const SENTENCE_SCALE = { min: 0, max: 10 } as const;
export const PHONEME_SCALE = { min: 0, max: 2 } as const;

/** What a statement is built from: one MODEL assessment with its utterance and learner. */
export interface StatementSource {
  /** The organisation's own account home page (setXapiAccountHomePage); null: the server's. */
  accountHomePage: string | null;
  assessmentId: string;
  assessedAt: Date;
  learnerExternalId: string;
  /** The learner's LMS groups when the recording was submitted (Utterance.learnerGroups). */
  learnerGroups: string[];
  /** The integrator's key-value pairs given with the recording (Utterance.metadata, decoded); {} when none. */
  metadata: Metadata;
  utterance: { id: string; createdAt: Date; referenceText: string; normalisedText: string; durationMs: number };
  model: { name: string | null; version: string | null; executionProvider: string | null };
  sentence: SentenceScores;
  /** Content match (0-1, null when the model gives none) and outcome flags (READ_WRONG_TEXT). */
  contentMatch: number | null;
  flags: string[];
  words: {
    index: number; text: string; accuracy: number; stress: number | null; total: number;
    /** From the model's alignment (null for older rows). */
    startMs: number | null; endMs: number | null; errorType: string | null;
    phonemes: { index: number; symbol: string; accuracy: number }[];
  }[];
}

export type LanguageMap = Record<string, string>;

export interface Statement {
  id: string;
  actor: { objectType: 'Agent'; account: { homePage: string; name: string } };
  verb: { id: string; display: LanguageMap };
  object: {
    objectType: 'Activity';
    id: string;
    definition: { type: string; name: LanguageMap; description: LanguageMap; interactionType: 'other' };
  };
  result: {
    score: { scaled: number; raw: number; min: number; max: number };
    completion: boolean;
    duration: string;
    extensions: Record<string, unknown>;
  };
  context: {
    platform: string;
    language: string;
    contextActivities?: { grouping: { objectType: 'Activity'; id: string; definition: { name: LanguageMap; description: LanguageMap } }[] };
    extensions: Record<string, unknown>;
  };
  timestamp: string;
}

/** ADL's verb of a statement that voids another (xAPI 1.0.3 §2.3.2). */
export const VERB_VOIDED = { id: 'http://adlnet.gov/expapi/verbs/voided', display: { 'en-US': 'voided' } } as const;

/** A statement voiding another: the object is a StatementRef to it (src/xapi/voiding.ts). */
export interface VoidingStatement {
  id: string;
  actor: { objectType: 'Agent'; account: { homePage: string; name: string } };
  verb: { id: string; display: LanguageMap };
  object: { objectType: 'StatementRef'; id: string };
  timestamp: string;
}

/** What speechmark sends to an LRS: an assessment's `scored` statement, or one voiding such a statement. */
export type AnyStatement = Statement | VoidingStatement;

/** The IRIs speechmark owns under the configured base. */
export function xapiIris(iriBase: string) {
  const ext = (name: string) => `${iriBase}/extensions/${name}`;
  return {
    activity: (normalisedText: string) => `${iriBase}/activities/read-aloud/${createHash('sha256').update(normalisedText, 'utf8').digest('hex')}`,
    /**
     * An LMS group (course, class, section): its id belongs to the LMS whose accounts the learners
     * are (the account home page), so the IRI is a hash of both: one group in one LMS is one
     * activity for every organisation using that LMS, and another LMS's same id another one.
     */
    group: (homePage: string, group: string) => `${iriBase}/activities/group/${createHash('sha256').update(`${homePage}\u0000${group}`, 'utf8').digest('hex')}`,
    aspects: ext('aspects'),
    words: ext('words'),
    phonemes: ext('phonemes'),
    modelName: ext('model-name'),
    modelVersion: ext('model-version'),
    executionProvider: ext('execution-provider'),
    assessmentId: ext('assessment-id'),
    utteranceId: ext('utterance-id'),
    assessedAt: ext('assessed-at'),
    referenceText: ext('reference-text'),
    contentMatch: ext('content-match'),
    flags: ext('flags'),
    metadata: ext('metadata'),
  };
}

/** ISO 8601 duration to the hundredth of a second (xAPI may truncate finer precision anyway). */
export function isoDuration(ms: number): string {
  return `PT${Math.round(Math.max(0, ms) / 10) / 100}S`;
}

function scaled(raw: number, scale: { min: number; max: number }): number {
  return Math.round(((raw - scale.min) / (scale.max - scale.min)) * 10_000) / 10_000;
}

function resultExtensions(iris: ReturnType<typeof xapiIris>, source: StatementSource): Record<string, unknown> {
  return {
    [iris.aspects]: { ...SENTENCE_SCALE, ...source.sentence },
    [iris.words]: {
      ...SENTENCE_SCALE,
      items: source.words.map(({ index, text, accuracy, stress, total, startMs, endMs, errorType }) => ({
        index, text, accuracy, stress, total, startMs, endMs, errorType,
      })),
    },
    [iris.phonemes]: {
      ...PHONEME_SCALE,
      items: source.words.flatMap((w) => w.phonemes.map((p) => ({ wordIndex: w.index, index: p.index, symbol: p.symbol, accuracy: p.accuracy }))),
    },
    [iris.contentMatch]: source.contentMatch,
    [iris.flags]: source.flags,
  };
}

/** A group the learner was in when they read: its name is the LMS's group id, as the LMS sent it. */
function groupActivity(iris: ReturnType<typeof xapiIris>, homePage: string, group: string) {
  return {
    objectType: 'Activity' as const,
    id: iris.group(homePage, group),
    definition: {
      // The LMS's own id, in no particular language (RFC 5646 "und").
      name: { und: group },
      description: { 'en-US': `A group (course, class or section) of ${homePage} that the learner was in when they read.` },
    },
  };
}

/**
 * `config.metadata` false: the statement as versions before the metadata extension built it (an
 * event that froze that build: src/xapi/identity.ts); the extension is there by default.
 */
export function buildStatement(config: Pick<XapiConfig, 'iriBase' | 'accountHomePage'> & { metadata?: boolean }, source: StatementSource): Statement {
  const iris = xapiIris(config.iriBase);
  const { utterance, sentence } = source;
  const homePage = source.accountHomePage ?? config.accountHomePage;
  return {
    id: statementIdFor(source.assessmentId),
    actor: { objectType: 'Agent', account: { homePage, name: source.learnerExternalId } },
    verb: { id: VERB_SCORED.id, display: { ...VERB_SCORED.display } },
    object: {
      objectType: 'Activity',
      id: iris.activity(utterance.normalisedText),
      definition: {
        type: ACTIVITY_TYPE,
        // The normalised text, not the submitted one: every statement about this IRI names it alike.
        name: { 'en-US': utterance.normalisedText },
        description: { 'en-US': `Read aloud: ${utterance.normalisedText}` },
        interactionType: 'other',
      },
    },
    result: {
      score: { scaled: scaled(sentence.total, SENTENCE_SCALE), raw: sentence.total, ...SENTENCE_SCALE },
      // A reading of another sentence (READ_WRONG_TEXT) did not complete this activity.
      completion: !source.flags.includes('READ_WRONG_TEXT'),
      duration: isoDuration(utterance.durationMs),
      extensions: resultExtensions(iris, source),
    },
    context: {
      platform: PLATFORM,
      language: 'en-US',
      ...(source.learnerGroups.length > 0 ? { contextActivities: { grouping: source.learnerGroups.map((g) => groupActivity(iris, homePage, g)) } } : {}),
      extensions: {
        [iris.modelName]: source.model.name,
        [iris.modelVersion]: source.model.version,
        [iris.executionProvider]: source.model.executionProvider,
        [iris.assessmentId]: toGlobalId('Assessment', source.assessmentId),
        [iris.utteranceId]: toGlobalId('Utterance', utterance.id),
        [iris.assessedAt]: source.assessedAt.toISOString(),
        [iris.referenceText]: utterance.referenceText,
        // Only when given: a recording without metadata has the statement it had before the key existed
        // (a re-send after an LRS's 409 is compared with the stored one, and must match it).
        ...(config.metadata !== false && Object.keys(source.metadata).length > 0 ? { [iris.metadata]: source.metadata } : {}),
      },
    },
    // When the learner read the sentence (the experience), not when a model scored it.
    timestamp: utterance.createdAt.toISOString(),
  };
}
