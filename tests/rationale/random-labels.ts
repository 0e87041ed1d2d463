/** Seeded random AssessmentLabels for property tests (no Math.random: failures must reproduce). */
import type { AssessmentLabels, SentenceScores, WordScore } from '../../src/types.js';

/** Words with their canonical phones: content and function words, repeated phones, lexicon look-alikes. */
const VOCAB: Array<[string, string[]]> = [
  ['THINK', ['TH', 'IH1', 'NG', 'K']], ['THREE', ['TH', 'R', 'IY1']], ['THE', ['DH', 'AH0']], ['A', ['AH0']],
  ['WE', ['W', 'IY1']], ['CALL', ['K', 'AO1', 'L']], ['IT', ['IH1', 'T']], ['BEAR', ['B', 'EH1', 'R']],
  ['SHEEP', ['SH', 'IY1', 'P']], ['VERY', ['V', 'EH1', 'R', 'IY0']], ['WEATHER', ['W', 'EH1', 'DH', 'ER0']],
  ['GOOD', ['G', 'UH1', 'D']], ['CLEAR', ['K', 'L', 'IH1', 'R']], ['FLAT', ['F', 'L', 'AE1', 'T']],
  ['STRESS', ['S', 'T', 'R', 'EH1', 'S']], ['RATE', ['R', 'EY1', 'T']], ['I', ['AY1']], ['DON\'T', ['D', 'OW1', 'N', 'T']],
  ['LISTEN', ['L', 'IH1', 'S', 'AH0', 'N']], ['WATCH', ['W', 'AA1', 'CH']], ['TIP', ['T', 'IH1', 'P']],
  ['OVERALL', ['OW1', 'V', 'ER0', 'AO2', 'L']], ['PRACTICE', ['P', 'R', 'AE1', 'K', 'T', 'IH0', 'S']],
  ['MEASURE', ['M', 'EH1', 'ZH', 'ER0']], ['JUDGE', ['JH', 'AH1', 'JH']], ['SING', ['S', 'IH1', 'NG']],
  ['HOUSE', ['HH', 'AW1', 'S']], ['BOY', ['B', 'OY1']], ['BOOK', ['B', 'UH1', 'K']], ['FOOD', ['F', 'UW1', 'D']],
  ['CAT', ['K', 'AE1', 'T']], ['FATHER', ['F', 'AA1', 'DH', 'ER0']], ['YES', ['Y', 'EH1', 'S']],
  ['SOUND', ['S', 'AW1', 'N', 'D']], ['WORD', ['W', 'ER1', 'D']], ['NATURAL', ['N', 'AE1', 'CH', 'ER0', 'AH0', 'L']],
  ['AND', ['AH0', 'N', 'D']], ['BUT', ['B', 'AH1', 'T']], ['NOT', ['N', 'AA1', 'T']], ['TOO', ['T', 'UW1']],
];

export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

export function randomLabels(seed: number): AssessmentLabels {
  const r = rng(seed);
  const int = (n: number): number => Math.floor(r() * (n + 1));
  const skew = r(); // some utterances near-perfect, some poor
  const n = 1 + int(8);
  const words: WordScore[] = [];
  for (let i = 0; i < n; i++) {
    const [text, phones] = VOCAB[Math.floor(r() * VOCAB.length)]!;
    const good = r() < skew;
    const phonemes = phones.map((symbol) => ({
      symbol,
      accuracy: good ? (r() < 0.9 ? 2 : Math.round(r() * 20) / 10) : Math.round(r() * 20) / 10,
    }));
    const accuracy = good ? 8 + int(2) : int(10);
    words.push({ text, accuracy, stress: r() < 0.9 ? 10 : 5, total: accuracy, phonemes });
  }
  const sentence = {
    accuracy: r() < 0.2 ? r() * 10 : int(10), fluency: int(10), prosody: int(10), completeness: int(10), total: int(10),
  };
  return { sentence, words };
}

const PHONE_POOL = ['TH', 'S', 'DH', 'Z', 'IY', 'IH', 'AH', 'ER', 'L', 'R', 'N', 'NG', 'V', 'W', 'AW', 'SH'];

/**
 * The same labels with random timing and miscues, as a model's alignment adds them: words omitted
 * or mispronounced whatever their scores (the generator must only tell what the labels support),
 * sounds substituted by a random other sound with a random confidence, or deleted.
 */
export function withRandomDiagnostics(labels: AssessmentLabels, seed: number): AssessmentLabels {
  const r = rng(seed ^ 0x5eed);
  let ms = 0;
  const words = labels.words.map((w) => {
    const omitted = r() < 0.25;
    const phonemes = w.phonemes.map(() => {
      const kind = omitted ? 'deleted' : r() < 0.3 ? 'substituted' : r() < 0.15 ? 'deleted' : 'none';
      const startMs = ms;
      ms += 40 + Math.floor(r() * 80);
      return {
        startMs, endMs: ms,
        produced: kind === 'deleted' ? null : PHONE_POOL[Math.floor(r() * PHONE_POOL.length)]!,
        producedConfidence: kind === 'deleted' ? null : Math.round(r() * 100) / 100,
        deleted: kind === 'deleted', substituted: kind === 'substituted',
      };
    });
    const errorType = omitted ? ('OMITTED' as const) : phonemes.some((p) => p.deleted || p.substituted) ? ('MISPRONOUNCED' as const) : ('NONE' as const);
    return { startMs: phonemes[0]!.startMs, endMs: ms, errorType, phonemes };
  });
  // a pitch contour over the reading: on one note (MONOTONE) for about half the seeds, else lively
  const span = r() < 0.5 ? 1 : 6;
  const pitch = { hopMs: 20, firstMs: 16, semitones: Array.from({ length: Math.ceil(ms / 20) + 30 }, (_, i) => (i % 4 === 3 ? null : 5 + span * Math.sin(i / 5))) };
  return { ...labels, diagnostics: { words, pauses: [], insertions: [], pitch } };
}

/**
 * The same labels as a model gives them: with the continuous predictions they were rounded from
 * (each within half a point of its label), so the writer may hedge where the calibration allows.
 */
export function withRandomPredictions(labels: AssessmentLabels, seed: number): AssessmentLabels {
  const r = rng(seed ^ 0xca1b);
  const near = (label: number): number => Math.round(Math.min(10, Math.max(0, label + (r() - 0.5) * 0.98)) * 100) / 100;
  const s = labels.sentence;
  const each = (f: (v: number) => number): SentenceScores => ({
    accuracy: f(s.accuracy), fluency: f(s.fluency), prosody: f(s.prosody), completeness: f(s.completeness), total: f(s.total),
  });
  const sentence = each((v) => near(Math.round(v)));
  return {
    ...labels,
    sentence: each(Math.round),
    continuous: { sentence, words: labels.words.map((w) => ({ accuracy: near(w.accuracy), total: near(w.total) })) },
  };
}
