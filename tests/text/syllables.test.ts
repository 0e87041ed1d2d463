/**
 * Syllabification of canonical ARPAbet phones (src/text/syllables.ts), against the syllable breaks
 * dictionaries print for words of each kind, and as a partition over the whole shipped lexicon.
 */
import { readFileSync } from 'node:fs';
import { DEFAULT_LEXICON_PATH } from '../../src/text/lexicon.js';
import { isVowel } from '../../src/text/phones.js';
import { syllabify, syllableStress } from '../../src/text/syllables.js';

const split = (phones: string) => {
  const symbols = phones.split(' ');
  return syllabify(symbols).map((run) => run.map((i) => symbols[i]).join(' '));
};

test.each([
  ['TOMORROW', 'T AH0 M AH1 R OW0', ['T AH0', 'M AH1', 'R OW0']],
  ['EXTRA', 'EH1 K S T R AH0', ['EH1 K', 'S T R AH0']],
  ['COMPUTER', 'K AH0 M P Y UW1 T ER0', ['K AH0 M', 'P Y UW1', 'T ER0']],
  ['INSTRUMENT', 'IH1 N S T R AH0 M AH0 N T', ['IH1 N', 'S T R AH0', 'M AH0 N T']],
  ['SINGER', 'S IH1 NG ER0', ['S IH1 NG', 'ER0']],
  ['ATHLETE', 'AE1 TH L IY2 T', ['AE1 TH', 'L IY2 T']],
  ['ELEPHANT', 'EH1 L AH0 F AH0 N T', ['EH1', 'L AH0', 'F AH0 N T']],
  ['IDEA', 'AY0 D IY1 AH0', ['AY0', 'D IY1', 'AH0']],
  ['EXPLAIN', 'IH0 K S P L EY1 N', ['IH0 K', 'S P L EY1 N']],
  ['APPLE', 'AE1 P AH0 L', ['AE1', 'P AH0 L']],
  ['STRENGTHS', 'S T R EH1 NG K TH S', ['S T R EH1 NG K TH S']],
  ['HMM', 'HH M', ['HH M']],
])('%s', (_word, phones, expected) => {
  expect(split(phones)).toEqual(expected);
});

test('no phones, no syllable', () => expect(syllabify([])).toEqual([]));

test('stress is the vowel digit; none without a vowel', () => {
  expect(syllableStress(['M', 'AA1'])).toBe('PRIMARY');
  expect(syllableStress(['R', 'OW2'])).toBe('SECONDARY');
  expect(syllableStress(['T', 'AH0'])).toBe('UNSTRESSED');
  expect(syllableStress(['HH', 'M'])).toBeNull();
  expect(syllableStress(['M', 'AA'])).toBeNull(); // a label without stress digits
});

test('over the whole lexicon: every phone once, in order, one vowel per syllable, no syllable opening with NG', () => {
  const lines = readFileSync(DEFAULT_LEXICON_PATH, 'utf8').split(/\r?\n/).map((l) => l.replace(/#.*$/, '').trim()).filter(Boolean);
  expect(lines.length).toBeGreaterThan(1000);
  for (const line of lines) {
    const symbols = line.split(/\s+/).slice(1);
    const runs = syllabify(symbols);
    expect(runs.flat()).toEqual(symbols.map((_, i) => i));
    const vowels = symbols.filter(isVowel).length;
    expect([line, runs.length]).toEqual([line, Math.max(vowels, 1)]);
    for (const run of runs) {
      if (vowels > 0) expect([line, run.filter((i) => isVowel(symbols[i]!)).length]).toEqual([line, 1]);
      if (run[0]! > 0) expect([line, symbols[run[0]!]]).not.toEqual([line, 'NG']);
    }
  }
});
