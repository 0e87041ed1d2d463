/** The fluency measures of src/assessment/fluency.ts on a reading whose answer is worked out by hand. */
import { fluencyMetrics, PAUSE_MS, type TimedWord } from '../../src/assessment/fluency.js';
import { wordBreaks } from '../../src/assessment/breaks.js';
import type { ReferenceWord } from '../../src/types.js';

const reference: ReferenceWord[] = [
  { text: 'WE', phones: ['W', 'IY0'], source: 'dataset' },
  { text: 'CALL', phones: ['K', 'AO0', 'L'], source: 'dataset' },
  { text: 'IT', phones: ['IH0', 'T'], source: 'dataset' },
  { text: 'BEAUTIFUL', phones: ['B', 'Y', 'UW1', 'T', 'AH0', 'F', 'AH0', 'L'], source: 'cmudict' },
];

test('rates, runs and pauses of a reading with a skipped word, a pause inside and silence around it', () => {
  const words = [
    { index: 0, startMs: 100, endMs: 300, errorType: 'NONE' },
    { index: 1, startMs: 300, endMs: 700, errorType: 'MISPRONOUNCED' },
    { index: 2, startMs: 700, endMs: 700, errorType: 'OMITTED' },
    { index: 3, startMs: 1200, endMs: 1900, errorType: 'NONE' },
  ];
  // The silence before the first word (0..100) is not inside the speaking time.
  // Spoken: WE (1 vowel), CALL (1), BEAUTIFUL (3) = 5 syllables, 3 words, in 100..1900 = 1800 ms, of
  // which 500 ms is the pause: 1300 ms of articulation.
  expect(fluencyMetrics(words, reference)).toEqual({
    wordCount: 3,
    syllableCount: 5,
    speakingMs: 1800,
    articulationMs: 1300,
    wordsPerMinute: 100, // 3 / 1.8 s × 60
    speechRate: 2.78, // 5 / 1.8
    articulationRate: 3.85, // 5 / 1.3
    pauseCount: 1,
    totalPauseMs: 500,
    longestPauseMs: 500,
    meanLengthOfRun: 2.5, // 5 syllables over 2 runs
    phonationTimeRatio: 0.722, // 1300 / 1800
  });
});

test("a skipped word's time is silence: the pauses either side of it are one pause", () => {
  const words = [
    { index: 0, startMs: 0, endMs: 300, errorType: 'NONE' },
    { index: 1, startMs: 550, endMs: 700, errorType: 'OMITTED' },
    { index: 3, startMs: 950, endMs: 1200, errorType: 'NONE' },
  ];
  // The alignment's pauses are per gap between reference words: the skipped word cuts the silence in two.
  const m = fluencyMetrics(words, reference)!;
  expect(m).toMatchObject({ wordCount: 2, syllableCount: 4, speakingMs: 1200, pauseCount: 1, totalPauseMs: 650, longestPauseMs: 650, articulationMs: 550 });
  expect(m.meanLengthOfRun).toBe(2); // 4 syllables over 2 runs, not 3
});

test('inserted speech inside a pause is speech: the silence left is what counts', () => {
  const words = [
    { index: 0, startMs: 0, endMs: 300, errorType: 'NONE' },
    { index: 1, startMs: 1000, endMs: 1300, errorType: 'NONE' },
  ];
  // 700 ms between the words, 200 of them a filler: a 500 ms pause.
  expect(fluencyMetrics(words, reference, { insertions: [{ startMs: 500, endMs: 700 }] })).toMatchObject({
    pauseCount: 1, totalPauseMs: 500, articulationMs: 800,
  });
  // 300 ms between the words, 150 of them speech: what is left is under 200 ms, no pause.
  const short = [words[0]!, { index: 1, startMs: 600, endMs: 900, errorType: 'NONE' }];
  expect(fluencyMetrics(short, reference, { insertions: [{ startMs: 350, endMs: 500 }] })).toMatchObject({
    pauseCount: 0, totalPauseMs: 0, articulationMs: 900, phonationTimeRatio: 1,
  });
});

test('nothing to measure without timed spoken words', () => {
  expect(fluencyMetrics([{ index: 0, startMs: null, endMs: null, errorType: null }], reference)).toBeNull();
  expect(fluencyMetrics([{ index: 2, startMs: 700, endMs: 700, errorType: 'OMITTED' }], reference)).toBeNull();
  expect(fluencyMetrics([{ index: 0, startMs: 500, endMs: 500, errorType: 'NONE' }], reference)).toBeNull();
});

const abc: ReferenceWord[] = ['A', 'B', 'C'].map((text) => ({ text, phones: ['B', 'AH0'], source: 'dataset' as const }));

test('a pause that spans a skipped word is one pause, as breakBefore reports it, though no piece of it reaches 200 ms', () => {
  // A (0-500), B skipped (650-750), C (900-1400): 150 ms either side of B, which Assessment.pauses
  // (per gap between reference words, PAUSE_MS or more) drops; 400 ms between the spoken words.
  const words = [
    { index: 0, startMs: 0, endMs: 500, errorType: 'NONE' },
    { index: 1, startMs: 650, endMs: 750, errorType: 'OMITTED' },
    { index: 2, startMs: 900, endMs: 1400, errorType: 'NONE' },
  ];
  expect(wordBreaks(words, [false, false, false], []).get(2)).toEqual({ silenceMs: 400, expected: false, errorTypes: ['UNEXPECTED_BREAK'] });
  expect(fluencyMetrics(words, abc, { insertions: [] })).toMatchObject({
    pauseCount: 1, totalPauseMs: 400, longestPauseMs: 400, speakingMs: 1400, articulationMs: 1000, phonationTimeRatio: 0.714,
  });
});

test('a silence the alignment did not list as a pause still counts with the rest of its gap (300 + 100 skipped + 150 ms)', () => {
  // A (0-500), 300 ms listed as a pause, B skipped (800-900), 150 ms not listed, C (1050-1500).
  const words = [
    { index: 0, startMs: 0, endMs: 500, errorType: 'NONE' },
    { index: 1, startMs: 800, endMs: 900, errorType: 'OMITTED' },
    { index: 2, startMs: 1050, endMs: 1500, errorType: 'NONE' },
  ];
  expect(wordBreaks(words, [false, false, false], []).get(2)!.silenceMs).toBe(550);
  expect(fluencyMetrics(words, abc)).toMatchObject({ pauseCount: 1, totalPauseMs: 550, longestPauseMs: 550, articulationMs: 950 });
});

test('the pauses are the breaks of PAUSE_MS or more: the same silences, for random readings with skips and insertions', () => {
  let seed = 7;
  const next = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const ref: ReferenceWord[] = Array.from({ length: 8 }, (_, i) => ({ text: `W${i}`, phones: ['T', 'AH0'], source: 'dataset' as const }));
  let paused = 0;
  for (let k = 0; k < 500; k++) {
    let at = Math.round(next() * 300);
    const words = ref.map((_, index) => {
      const startMs = (at += Math.round(next() * 250));
      const endMs = (at += Math.round(next() * 300));
      return { index, startMs, endMs, errorType: next() < 0.25 ? 'OMITTED' : 'NONE' } satisfies TimedWord;
    });
    const insertions = words.slice(1).flatMap((w, i) => {
      const from = words[i]!.endMs;
      return next() < 0.3 && w.startMs - from > 40 ? [{ startMs: from + 10, endMs: from + 10 + Math.round(next() * (w.startMs - from - 20)) }] : [];
    });
    const silences = [...wordBreaks(words, ref.map(() => false), insertions).values()]
      .flatMap((b) => (b && b.silenceMs >= PAUSE_MS ? [b.silenceMs] : []));
    const m = fluencyMetrics(words, ref, { insertions });
    if (!m) continue;
    expect({ pauseCount: m.pauseCount, totalPauseMs: m.totalPauseMs, longestPauseMs: m.longestPauseMs })
      .toEqual({ pauseCount: silences.length, totalPauseMs: silences.reduce((a, b) => a + b, 0), longestPauseMs: Math.max(0, ...silences) });
    if (silences.length) paused++;
  }
  expect(paused).toBeGreaterThan(100);
});

test('syllables as WordAssessment.syllables counts them: syllabic consonants, and one for a word without a nucleus', () => {
  const ref: ReferenceWord[] = [
    { text: 'PEOPLE', phones: ['P', 'IY1', 'P', 'L'], source: 'cmudict' },
    { text: 'HMM', phones: ['HH', 'M'], source: 'cmudict' },
    { text: 'SEVEN', phones: ['S', 'EH1', 'V', 'N'], source: 'cmudict' },
  ];
  const words = [
    { index: 0, startMs: 0, endMs: 500, errorType: 'NONE' },
    { index: 1, startMs: 500, endMs: 800, errorType: 'NONE' },
    { index: 2, startMs: 800, endMs: 1000, errorType: 'NONE' },
  ];
  // PEOPLE 2 (P IY1 | P L), HMM 1, SEVEN 2 (S EH1 | V N): 5 syllables in 1 s, no pause.
  expect(fluencyMetrics(words, ref)).toMatchObject({ syllableCount: 5, speechRate: 5, articulationRate: 5, meanLengthOfRun: 5 });
});
