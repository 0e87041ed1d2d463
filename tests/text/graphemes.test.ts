/**
 * The letters that spell each phone and each syllable (src/text/graphemes.ts): against the splits a
 * reader would write for words of each kind, and over the whole shipped lexicon as a partition of
 * the word's letters.
 */
import { readFileSync } from 'node:fs';
import { DEFAULT_LEXICON_PATH } from '../../src/text/lexicon.js';
import { alignGraphemes, syllableGraphemes } from '../../src/text/graphemes.js';
import { syllabify } from '../../src/text/syllables.js';

const graphemes = (word: string, phones: string) => {
  const symbols = phones.split(' ');
  return syllableGraphemes(word, symbols, syllabify(symbols))?.join('|') ?? null;
};

test.each([
  // one phone per letter run, the syllables of src/text/syllables.ts
  ['TOMORROW', 'T AH0 M AH1 R OW0', 'TO|MOR|ROW'],
  ['COMPUTER', 'K AH0 M P Y UW1 T ER0', 'COM|PU|TER'],
  ['PHOTOGRAPH', 'F OW1 T AH0 G R AE2 F', 'PHO|TO|GRAPH'],
  ['THROUGH', 'TH R UW1', 'THROUGH'],
  // a doubled consonant opening a syllable is split (and a doubled one before a silent E)
  ['HAPPY', 'HH AE1 P IY0', 'HAP|PY'],
  ['PATTERN', 'P AE1 T N', 'PAT|TERN'],
  ['LITTLE', 'L IH1 T L', 'LIT|TLE'],
  // silent letters stay with the syllable before
  ['KNOWLEDGE', 'N AA1 L IH0 JH', 'KNOW|LEDGE'],
  // one letter, two phones: X as K S, U as Y UW; two letters split between two phones
  ['EXTRA', 'EH1 K S T R AH0', 'EX|TRA'],
  ['POPULAR', 'P AA1 P Y AH0 L ER0', 'POP|U|LAR'],
  ['ACCEPT', 'AH0 K S EH1 P T', 'AC|CEPT'],
  ['ONE', 'W AH1 N', 'ONE'],
  // a syllabic consonant and the vowel letter that spells it
  ['NATION', 'N EY1 SH AH0 N', 'NA|TION'],
  ['ADDITION', 'AH0 D IH1 SH N', 'AD|DI|TION'],
  ['PEOPLE', 'P IY1 P L', 'PEO|PLE'],
  // a non-rhotic pronunciation, as the lexicon writes AFTER
  ['AFTER', 'AA1 F T AH0', 'AF|TER'],
  // marks go with their letters; the word's case is kept
  ["O'CLOCK", 'AH0 K L AA1 K', "O'|CLOCK"],
  ["DON'T", 'D OW1 N T', "DON'T"],
  ['Knowledge', 'N AA1 L IH0 JH', 'Know|ledge'],
  ['CAFÉ', 'K AE0 F EY1', 'CA|FÉ'],
  // letters read as words
  ['FBI', 'EH2 F B IY2 AY1', 'F|B|I'],
])('%s', (word, phones, expected) => {
  expect(graphemes(word, phones)).toBe(expected);
});

test('a word whose letters cannot give each syllable one has no graphemes', () => {
  expect(graphemes('W', 'D AH1 B AH0 L Y UW0')).toBeNull();
});

test('no syllables, no graphemes', () => {
  expect(syllableGraphemes('', [], [])).toEqual([]);
});

test('the spans: one per phone, in order, inside the word, never overlapping', () => {
  const spans = alignGraphemes('KNOWLEDGE', 'N AA1 L IH0 JH'.split(' '));
  // KN spells N, OW spells AA, DGE spells JH
  expect(spans).toEqual([[0, 2], [2, 4], [4, 5], [5, 6], [6, 9]]);
  expect(alignGraphemes('BOX', ['B', 'AA1', 'K', 'S'])).toEqual([[0, 1], [1, 2], [2, 3], [3, 3]]);
});

test('over the whole lexicon: the pieces partition the word, each with a letter, in order, nearly every word split', () => {
  const lines = readFileSync(DEFAULT_LEXICON_PATH, 'utf8').split(/\r?\n/).map((l) => l.replace(/#.*$/, '').trim()).filter(Boolean);
  expect(lines.length).toBeGreaterThan(1000);
  let unsplit = 0;
  for (const line of lines) {
    const [word, ...symbols] = line.split(/\s+/) as [string, ...string[]];
    const spans = alignGraphemes(word, symbols);
    expect(spans).toHaveLength(symbols.length);
    spans.forEach(([start, end], i) => {
      expect(start).toBeLessThanOrEqual(end);
      expect(end).toBeLessThanOrEqual(word.length);
      if (i > 0) expect(start).toBeGreaterThanOrEqual(spans[i - 1]![1]);
    });
    const pieces = syllableGraphemes(word, symbols, syllabify(symbols));
    if (pieces === null) {
      unsplit++;
      continue;
    }
    expect(pieces).toHaveLength(syllabify(symbols).length);
    expect(pieces.join('')).toBe(word);
    for (const piece of pieces) expect(piece).toMatch(/\p{L}/u);
  }
  // the lexicon's few odd entries (AM as EY2 EH1 M) only
  expect(unsplit / lines.length).toBeLessThan(0.005);
});
