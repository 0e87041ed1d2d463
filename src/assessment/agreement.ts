/**
 * How far a model's labels agree with human labels. Both sides are aligned to the utterance's
 * reference words and canonical phones, so tokens are compared by position.
 */
import type { SentenceScores } from '../types.js';

export interface ComparableLabels {
  sentence: SentenceScores;
  /** Per reference word: its accuracy and its phonemes' accuracies, in order. */
  words: { accuracy: number; phonemes: number[] }[];
}

export interface Agreement {
  sentence: SentenceScores;
  wordAccuracyMae: number | null;
  wordExactMatchShare: number | null;
  wordsCompared: number;
  phonemeAccuracyMae: number | null;
  phonemesCompared: number;
}

const mean = (xs: number[]) => (xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length);

export function compareLabels(model: ComparableLabels, human: ComparableLabels): Agreement {
  const diff = (k: keyof SentenceScores) => Math.abs(model.sentence[k] - human.sentence[k]);
  // Human labels without words compare nothing at token level.
  const n = Math.min(model.words.length, human.words.length);
  const wordDiffs: number[] = [];
  const phonemeDiffs: number[] = [];
  for (let i = 0; i < n; i++) {
    const m = model.words[i]!;
    const h = human.words[i]!;
    wordDiffs.push(Math.abs(m.accuracy - h.accuracy));
    const p = Math.min(m.phonemes.length, h.phonemes.length);
    for (let j = 0; j < p; j++) phonemeDiffs.push(Math.abs(m.phonemes[j]! - h.phonemes[j]!));
  }
  return {
    sentence: {
      accuracy: diff('accuracy'), fluency: diff('fluency'), prosody: diff('prosody'),
      completeness: diff('completeness'), total: diff('total'),
    },
    wordAccuracyMae: mean(wordDiffs),
    wordExactMatchShare: mean(wordDiffs.map((d) => (d === 0 ? 1 : 0))),
    wordsCompared: wordDiffs.length,
    phonemeAccuracyMae: mean(phonemeDiffs),
    phonemesCompared: phonemeDiffs.length,
  };
}
