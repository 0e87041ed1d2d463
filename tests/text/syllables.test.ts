/**
 * Syllabification of canonical ARPAbet phones (src/text/syllables.ts), against the syllable breaks
 * dictionaries print for words of each kind, and as a partition over the whole shipped lexicon.
 */
import { readFileSync } from 'node:fs';
import { DEFAULT_LEXICON_PATH } from '../../src/text/lexicon.js';
import { isVowel } from '../../src/text/phones.js';
import { syllabify, syllableNuclei, syllableStress } from '../../src/text/syllables.js';

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
  // syllabic L, M, N after an obstruent at the end, as the lexicon writes -le, -en, -tion, -sm
  ['PEOPLE', 'P IY1 P L', ['P IY1', 'P L']],
  ['PEOPLES', 'P IY1 P L Z', ['P IY1', 'P L Z']],
  ['SEVEN', 'S EH1 V N', ['S EH1', 'V N']],
  ['ADDITION', 'AH0 D IH1 SH N', ['AH0', 'D IH1', 'SH N']],
  ['BEAUTIFUL', 'B Y UW1 T IH0 F L', ['B Y UW1', 'T IH0', 'F L']],
  ['RHYTHM', 'R IH1 DH M', ['R IH1', 'DH M']],
  // not after a sonorant: FILM and KILN are one syllable
  ['FILM', 'F IH1 L M', ['F IH1 L M']],
  ['KILN', 'K IH1 L N', ['K IH1 L N']],
  // consonant + Y opens a syllable only before /u/ or /ʊ/
  ['POPULAR', 'P AA1 P Y AH0 L ER0', ['P AA1 P', 'Y AH0', 'L ER0']],
  ['PURE', 'P Y UH1 R', ['P Y UH1 R']],
])('%s', (_word, phones, expected) => {
  expect(split(phones)).toEqual(expected);
});

test('no phones, no syllable', () => expect(syllabify([])).toEqual([]));

test('stress is the vowel digit; none without a vowel', () => {
  expect(syllableStress(['M', 'AA1'])).toBe('PRIMARY');
  expect(syllableStress(['R', 'OW2'])).toBe('SECONDARY');
  expect(syllableStress(['T', 'AH0'])).toBe('UNSTRESSED');
  expect(syllableStress(['P', 'L'])).toBe('UNSTRESSED'); // a syllabic consonant
  expect(syllableStress(['S', 'T'])).toBeNull(); // no nucleus
  expect(syllableStress(['M', 'AA'])).toBeNull(); // a pronunciation without stress digits
});

test('over the whole lexicon: every phone once, in order, one nucleus per syllable, no syllable opening with NG', () => {
  const lines = readFileSync(DEFAULT_LEXICON_PATH, 'utf8').split(/\r?\n/).map((l) => l.replace(/#.*$/, '').trim()).filter(Boolean);
  expect(lines.length).toBeGreaterThan(1000);
  for (const line of lines) {
    const symbols = line.split(/\s+/).slice(1);
    const runs = syllabify(symbols);
    expect(runs.flat()).toEqual(symbols.map((_, i) => i));
    const nuclei = syllableNuclei(symbols);
    expect(nuclei.length).toBeGreaterThanOrEqual(symbols.filter(isVowel).length);
    expect([line, runs.length]).toEqual([line, Math.max(nuclei.length, 1)]);
    for (const run of runs) {
      if (nuclei.length > 0) expect([line, run.filter((i) => nuclei.includes(i)).length]).toEqual([line, 1]);
      if (run[0]! > 0) expect([line, symbols[run[0]!]]).not.toEqual([line, 'NG']);
    }
  }
});
