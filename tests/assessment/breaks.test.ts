/** Break feedback (src/assessment/breaks.ts) on readings whose answers are worked out by hand. */
import { MISSING_BREAK_MS, storedPhraseBreaks, wordBreaks } from '../../src/assessment/breaks.js';
import { analyzeReferenceText, phraseBreaksBefore } from '../../src/text/reference.js';

const marked = (text: string) => {
  const breaks = phraseBreaksBefore(text);
  return analyzeReferenceText(text).map((w, i) => (breaks[i] ? `| ${w.text}` : w.text)).join(' ');
};

test('phrase boundaries: punctuation followed by a space, dashes, brackets and line breaks; not initials, abbreviations read out, ranges, numbers or inner marks', () => {
  expect(marked('We will see you, tomorrow at the stream.')).toBe('WE WILL SEE YOU | TOMORROW AT THE STREAM');
  expect(marked('Yes; no: maybe! Why? Go.  Now')).toBe('YES | NO | MAYBE | WHY | GO | NOW');
  expect(marked('"Go," he said. "Now"')).toBe('GO | HE SAID | NOW');
  expect(marked('The U.S. Army - and J. Smith (the man) came — late')).toBe('THE U S ARMY | AND J SMITH | THE MAN | CAME | LATE');
  // A full stop after a number or after I ends a sentence; after another single letter it ends an initial.
  expect(marked('I am 5. Then so did I. Then')).toBe('I AM FIVE | THEN SO DID I | THEN');
  // ... unless a word that only starts a sentence follows: then the letter ended one.
  expect(marked('Take vitamin C. Then plan B. It works, says J. Then')).toBe('TAKE VITAMIN C | THEN PLAN B | IT WORKS | SAYS J | THEN');
  expect(marked('Ask A. Jones or B. Smith')).toBe('ASK A JONES OR B SMITH');
  // Read-out abbreviations lose their stop, unless it also ends the sentence; numbers keep their commas and points; a comma without a space is a typo, not a pause.
  expect(marked('Dr. Smith paid $1,000.50 at 10:30 for 3.5 kilos, well,then')).toBe('DOCTOR SMITH PAID ONE THOUSAND DOLLARS FIFTY CENTS AT TEN THIRTY FOR THREE POINT FIVE KILOS | WELL THEN');
  expect(marked('He lives on Elm St. It is quiet, and Acme Inc. and Baker St. are near')).toBe('HE LIVES ON ELM STREET | IT IS QUIET | AND ACME INCORPORATED AND BAKER STREET ARE NEAR');
  // The dash of a range is read "to" or not at all; a title on its own line ends there.
  expect(marked('From 1990–2000 – then\nIt was')).toBe('FROM NINETEEN NINETY TWO THOUSAND | THEN | IT WAS');
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
  // WE WILL SEE YOU, | TOMORROW AT THE STREAM; the alignment ends a word where the silence after it starts.
  const expected = [false, false, false, false, true, false, false, false];
  const words = [
    { index: 0, startMs: 100, endMs: 300, errorType: 'NONE' },
    { index: 1, startMs: 300, endMs: 500, errorType: 'NONE' }, // joined: 0 ms
    { index: 2, startMs: 800, endMs: 1000, errorType: 'NONE' }, // 300 ms, no boundary: UNEXPECTED
    { index: 3, startMs: 1000, endMs: 1200, errorType: 'NONE' },
    { index: 4, startMs: 1260, endMs: 1700, errorType: 'NONE' }, // 60 ms at the comma: MISSING (a short pause Assessment.pauses does not list)
    { index: 5, startMs: 1900, endMs: 1960, errorType: 'OMITTED' }, // skipped: no feedback; its place is silence
    // THE from 2100: between TOMORROW's end and it, the skipped AT's place and silence, with a filler heard in 1950..2200.
    { index: 6, startMs: 2100, endMs: 2500, errorType: 'NONE' },
    { index: 7, startMs: null, endMs: null, errorType: null }, // not aligned: no feedback
  ];
  const breaks = wordBreaks(words, expected, [{ startMs: 1950, endMs: 2200 }]);
  expect(Object.fromEntries(breaks)).toEqual({
    0: null,
    1: { silenceMs: 0, expected: false, errorTypes: [] },
    2: { silenceMs: 300, expected: false, errorTypes: ['UNEXPECTED_BREAK'] },
    3: { silenceMs: 0, expected: false, errorTypes: [] },
    4: { silenceMs: 60, expected: true, errorTypes: ['MISSING_BREAK'] },
    5: null,
    // 1700..2100, less the filler's 1950..2100: 250 ms, a pause where the text has none.
    6: { silenceMs: 250, expected: false, errorTypes: ['UNEXPECTED_BREAK'] },
    7: null,
  });
});

test('the thresholds: a boundary with 100 ms of silence is kept, with 99 ms missed; 199 ms without one is no break, 200 ms is', () => {
  const two = (gapMs: number, boundary: boolean) =>
    wordBreaks([{ index: 0, startMs: 0, endMs: 500, errorType: 'NONE' }, { index: 1, startMs: 500 + gapMs, endMs: 900 + gapMs, errorType: 'NONE' }], [false, boundary], []).get(1)!.errorTypes;
  expect([two(MISSING_BREAK_MS, true), two(MISSING_BREAK_MS - 1, true)]).toEqual([[], ['MISSING_BREAK']]);
  expect([two(199, false), two(200, false)]).toEqual([[], ['UNEXPECTED_BREAK']]);
});

test('a boundary before a skipped word still stands between the words around it', () => {
  // A, | B (skipped) C: the comma before B lies between A and C.
  const words = [
    { index: 0, startMs: 0, endMs: 200, errorType: 'NONE' },
    { index: 1, startMs: 300, endMs: 360, errorType: 'OMITTED' },
    { index: 2, startMs: 500, endMs: 700, errorType: 'NONE' },
  ];
  expect(wordBreaks(words, [false, true, false], []).get(2)).toEqual({ silenceMs: 300, expected: true, errorTypes: [] });
  // Read without the pause: the boundary is missed.
  const joined = [words[0]!, { ...words[1]!, startMs: 200, endMs: 220 }, { ...words[2]!, startMs: 220 }];
  expect(wordBreaks(joined, [false, true, false], []).get(2)).toEqual({ silenceMs: 20, expected: true, errorTypes: ['MISSING_BREAK'] });
});

test('a boundary filled with inserted speech ("um") is no MISSING_BREAK, however little silence is left', () => {
  const words = [{ index: 0, startMs: 0, endMs: 500, errorType: 'NONE' }, { index: 1, startMs: 900, endMs: 1300, errorType: 'NONE' }];
  // 400 ms gap at a comma, 350 ms of it a filler: 50 ms of silence left
  const filled = wordBreaks(words, [false, true], [{ startMs: 520, endMs: 870 }]).get(1);
  expect(filled).toEqual({ silenceMs: 50, expected: true, errorTypes: [] });
  // the same silence without the filler (the words closer together) is a missed boundary
  const tight = [words[0]!, { index: 1, startMs: 550, endMs: 950, errorType: 'NONE' }];
  expect(wordBreaks(tight, [false, true], []).get(1)).toEqual({ silenceMs: 50, expected: true, errorTypes: ['MISSING_BREAK'] });
  // an insertion elsewhere does not count
  expect(wordBreaks(tight, [false, true], [{ startMs: 1000, endMs: 1200 }]).get(1)!.errorTypes).toEqual(['MISSING_BREAK']);
});
