/** SpeechOcean762 score records (scores.json entries) to AssessmentLabels. */
import type { AssessmentLabels, WordScore } from '../types.js';

export interface SpeechOceanWord {
  text: string;
  accuracy: number;
  stress: number;
  total: number;
  phones: string[];
  'phones-accuracy': number[];
  mispronunciations?: unknown[];
}

export interface SpeechOceanRecord {
  text?: string;
  accuracy: number;
  fluency: number;
  prosodic: number;
  completeness: number;
  total: number;
  words: SpeechOceanWord[];
}

export class SpeechOceanFormatError extends Error {}

function num(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new SpeechOceanFormatError(`${what} must be a number`);
  return v;
}

function convertWord(w: unknown, i: number): WordScore {
  if (typeof w !== 'object' || w === null) throw new SpeechOceanFormatError(`words[${i}] must be an object`);
  const r = w as Partial<SpeechOceanWord>;
  if (typeof r.text !== 'string' || r.text.length === 0) throw new SpeechOceanFormatError(`words[${i}].text must be a string`);
  const phones = r.phones ?? [];
  const acc = r['phones-accuracy'] ?? [];
  if (!Array.isArray(phones) || !Array.isArray(acc) || phones.length !== acc.length) {
    throw new SpeechOceanFormatError(`words[${i}]: phones and phones-accuracy must be arrays of equal length`);
  }
  return {
    text: r.text.toUpperCase(),
    accuracy: num(r.accuracy, `words[${i}].accuracy`),
    // The dataset only uses 5 and 10; anything below 10 is read as a stress error.
    stress: num(r.stress ?? 10, `words[${i}].stress`) >= 10 ? 10 : 5,
    total: num(r.total ?? r.accuracy, `words[${i}].total`),
    phonemes: phones.map((symbol, j) => {
      if (typeof symbol !== 'string') throw new SpeechOceanFormatError(`words[${i}].phones[${j}] must be a string`);
      return { symbol: symbol.toUpperCase(), accuracy: num(acc[j], `words[${i}].phones-accuracy[${j}]`) };
    }),
  };
}

/** Throws SpeechOceanFormatError with a field path when the record is malformed. */
export function speechOceanToLabels(record: unknown): AssessmentLabels {
  if (typeof record !== 'object' || record === null) throw new SpeechOceanFormatError('labels must be an object');
  const r = record as Partial<SpeechOceanRecord>;
  if (!Array.isArray(r.words)) throw new SpeechOceanFormatError('labels.words must be an array');
  return {
    sentence: {
      accuracy: num(r.accuracy, 'accuracy'),
      fluency: num(r.fluency, 'fluency'),
      prosody: num(r.prosodic, 'prosodic'),
      completeness: num(r.completeness ?? 10, 'completeness'),
      total: num(r.total, 'total'),
    },
    words: r.words.map(convertWord),
  };
}
