/** Break feedback (src/assessment/breaks.ts) on readings whose answers are worked out by hand. */
import { MISSING_BREAK_MS, storedPhraseBreaks, wordBreaks } from '../../src/assessment/breaks.js';
import { analyzeReferenceText, phraseBreaksBefore } from '../../src/text/reference.js';

const marked = (text: string) => {
  const breaks = phraseBreaksBefore(text);
  return analyzeReferenceText(text).map((w, i) => (breaks[i] ? `| ${w.text}` : w.text)).join(' ');
};

test('phrase boundaries: punctuation followed by a space, dashes and brackets; not initials, abbreviations read out, numbers or inner marks', () => {
  expect(marked('We will see you, tomorrow at the stream.')).toBe('WE WILL SEE YOU | TOMORROW AT THE STREAM');
  expect(marked('Yes; no: maybe! Why? Go.  Now')).toBe('YES | NO | MAYBE | WHY | GO | NOW');
  expect(marked('"Go," he said. "Now"')).toBe('GO | HE SAID | NOW');
  expect(marked('The U.S. Army - and J. Smith (the man) came — late')).toBe('THE U S ARMY | AND J SMITH | THE MAN | CAME | LATE');
  // Read-out abbreviations lose their stop; numbers keep their commas and points; a comma without a space is a typo, not a pause.
  expect(marked('Dr. Smith paid $1,000.50 at 10:30 for 3.5 kilos, well,then')).toBe('DOCTOR SMITH PAID ONE THOUSAND DOLLARS FIFTY CENTS AT TEN THIRTY FOR THREE POINT FIVE KILOS | WELL THEN');
  // Only the first word of a token read as several gets the boundary.
  expect(marked('Wait, 21 dogs')).toBe('WAIT | TWENTY ONE DOGS');
  expect(phraseBreaksBefore('Hello.')).toEqual([false]);
});

test('stored phrase breaks: null when the stored words are no longer what the text normalises to', () => {
  const text = 'We will see you, tomorrow';
  expect(storedPhraseBreaks({ referenceText: text, referenceWords: analyzeReferenceText(text) })).toEqual([false, false, false, false, true]);
  expect(storedPhraseBreaks({ referenceText: text, referenceWords: analyzeReferenceText('We will see you tomorrow now') })).toBeNull();
  expect(storedPhraseBreaks({ referenceText: text, referenceWords: null })).toBeNull();
});

test('silence, boundaries and errors per word, a skipped word and an insertion included', () => {
  // WE WILL SEE YOU, | TOMORROW AT THE STREAM
  const expected = [false, false, false, false, true, false, false, false];
  const words = [
    { index: 0, startMs: 100, endMs: 300, errorType: 'NONE' },
    { index: 1, startMs: 300, endMs: 500, errorType: 'NONE' }, // joined: 0 ms
    { index: 2, startMs: 800, endMs: 1000, errorType: 'NONE' }, // 300 ms pause, no boundary: UNEXPECTED
    { index: 3, startMs: 1000, endMs: 1200, errorType: 'NONE' },
    { index: 4, startMs: 1250, endMs: 1700, errorType: 'NONE' }, // 50 ms at the comma: MISSING
    { index: 5, startMs: 1700, endMs: 1700, errorType: 'OMITTED' }, // skipped: no feedback; its time is silence
    // THE is said from 2100: between TOMORROW's end and it lie the skipped AT's place and a pause, with a filler in 1950..2100.
    { index: 6, startMs: 2100, endMs: 2500, errorType: 'NONE' },
    { index: 7, startMs: null, endMs: null, errorType: null }, // not aligned: no feedback
  ];
  const pauses = [{ startMs: 500, endMs: 800 }, { startMs: 1200, endMs: 1250 }, { startMs: 1700, endMs: 2100 }];
  const breaks = wordBreaks(words, expected, pauses, [{ startMs: 1950, endMs: 2200 }]);
  expect(Object.fromEntries(breaks)).toEqual({
    0: null,
    1: { silenceMs: 0, expected: false, errorTypes: [] },
    2: { silenceMs: 300, expected: false, errorTypes: ['UNEXPECTED_BREAK'] },
    3: { silenceMs: 0, expected: false, errorTypes: [] },
    4: { silenceMs: 50, expected: true, errorTypes: ['MISSING_BREAK'] },
    5: null,
    // 1700..2100 is silence, less the filler heard in 1950..2100: 250 ms, a pause where the text has none.
    6: { silenceMs: 250, expected: false, errorTypes: ['UNEXPECTED_BREAK'] },
    7: null,
  });
  expect(MISSING_BREAK_MS).toBe(100);
});

test("a boundary before a skipped word still stands between the words around it", () => {
  // A, | B (skipped) C: the comma before B lies between A and C.
  const words = [
    { index: 0, startMs: 0, endMs: 200, errorType: 'NONE' },
    { index: 1, startMs: 200, endMs: 200, errorType: 'OMITTED' },
    { index: 2, startMs: 500, endMs: 700, errorType: 'NONE' },
  ];
  const breaks = wordBreaks(words, [false, true, false], [{ startMs: 200, endMs: 500 }], []);
  expect(breaks.get(2)).toEqual({ silenceMs: 300, expected: true, errorTypes: [] });
  // Read without the pause: the boundary is missed.
  const joined = wordBreaks([words[0]!, { ...words[1]!, startMs: 200, endMs: 220 }, { ...words[2]!, startMs: 220 }], [false, true, false], [], []);
  expect(joined.get(2)).toEqual({ silenceMs: 20, expected: true, errorTypes: ['MISSING_BREAK'] });
});
