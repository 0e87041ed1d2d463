/** The fluency measures of src/assessment/fluency.ts on a reading whose answer is worked out by hand. */
import { fluencyMetrics } from '../../src/assessment/fluency.js';
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
  // The silence before the first word is not inside the speaking time.
  const pauses = [{ startMs: 0, endMs: 100 }, { startMs: 700, endMs: 1200 }];
  // Spoken: WE (1 vowel), CALL (1), BEAUTIFUL (3) = 5 syllables, 3 words, in 100..1900 = 1800 ms, of
  // which 500 ms is the pause: 1300 ms of articulation.
  expect(fluencyMetrics(words, reference, pauses)).toEqual({
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
  const m = fluencyMetrics(words, reference, [{ startMs: 300, endMs: 550 }, { startMs: 700, endMs: 950 }])!;
  expect(m).toMatchObject({ wordCount: 2, syllableCount: 4, speakingMs: 1200, pauseCount: 1, totalPauseMs: 650, longestPauseMs: 650, articulationMs: 550 });
  expect(m.meanLengthOfRun).toBe(2); // 4 syllables over 2 runs, not 3
});

test('inserted speech inside a pause is speech: the silence left is what counts', () => {
  const words = [
    { index: 0, startMs: 0, endMs: 300, errorType: 'NONE' },
    { index: 1, startMs: 1000, endMs: 1300, errorType: 'NONE' },
  ];
  // 700 ms between the words, 200 of them a filler: a 500 ms pause.
  expect(fluencyMetrics(words, reference, [{ startMs: 300, endMs: 1000 }], [{ startMs: 500, endMs: 700 }])).toMatchObject({
    pauseCount: 1, totalPauseMs: 500, articulationMs: 800,
  });
  // 300 ms between the words, 150 of them speech: what is left is under 200 ms, no pause.
  const short = [words[0]!, { index: 1, startMs: 600, endMs: 900, errorType: 'NONE' }];
  expect(fluencyMetrics(short, reference, [{ startMs: 300, endMs: 600 }], [{ startMs: 350, endMs: 500 }])).toMatchObject({
    pauseCount: 0, totalPauseMs: 0, articulationMs: 900, phonationTimeRatio: 1,
  });
});

test('nothing to measure without timed spoken words', () => {
  expect(fluencyMetrics([{ index: 0, startMs: null, endMs: null, errorType: null }], reference, [])).toBeNull();
  expect(fluencyMetrics([{ index: 2, startMs: 700, endMs: 700, errorType: 'OMITTED' }], reference, [])).toBeNull();
  expect(fluencyMetrics([{ index: 0, startMs: 500, endMs: 500, errorType: 'NONE' }], reference, [])).toBeNull();
});
