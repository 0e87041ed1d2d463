/**
 * Syllables of a word's canonical ARPAbet phones, for syllable-level scores (as Azure Pronunciation
 * Assessment reports them beside words and phonemes).
 *
 * Each vowel is the nucleus of one syllable. The consonants between two vowels are split by the
 * maximal onset principle: the next syllable begins with the longest run of them that an English
 * word can begin with (TOMORROW: T AH0 | M AH1 | R OW0; EXTRA: EH1 K | S T R AH0; COMPUTER:
 * K AH0 M | P Y UW1 | T ER0). Consonants before the first vowel open the first syllable, those after
 * the last close the last one. A word without a vowel (a label such as "HMM" as HH M) is one syllable.
 * This is the phonological rule dictionaries print; it ignores ambisyllabic consonants (WATER's T
 * belongs to both syllables in some analyses, to the second one here).
 */
import { isVowel, stripStress } from './phones.js';

/** Two- and three-consonant onsets that begin English words (ARPAbet, stress-free). */
const CLUSTER_ONSETS: ReadonlySet<string> = new Set([
  // stop or fricative + liquid
  'P R', 'B R', 'T R', 'D R', 'K R', 'G R', 'F R', 'TH R', 'SH R', 'V R',
  'P L', 'B L', 'K L', 'G L', 'F L', 'S L',
  // + W
  'T W', 'D W', 'K W', 'G W', 'S W', 'TH W', 'HH W',
  // + Y before /u/ (CUTE, MUSIC, HUGE, FEW, VIEW, BEAUTY, PURE)
  'P Y', 'B Y', 'K Y', 'G Y', 'F Y', 'V Y', 'M Y', 'HH Y',
  // S + stop or nasal, and S F (SPHERE)
  'S P', 'S T', 'S K', 'S M', 'S N', 'S F',
  // three consonants
  'S P R', 'S P L', 'S T R', 'S K R', 'S K W', 'S K L', 'S P Y', 'S K Y',
]);

/** True when `consonants` (stress-free ARPAbet) can begin an English word. */
function isOnset(consonants: readonly string[]): boolean {
  if (consonants.length === 0) return true;
  if (consonants.length === 1) return consonants[0] !== 'NG'; // no English word begins with /ŋ/
  return CLUSTER_ONSETS.has(consonants.join(' '));
}

/**
 * The word's syllables as runs of phone positions: `[[0, 1], [2, 3], [4, 5]]` for T AH0 M AH1 R OW0.
 * Every position appears once, in order. An empty word has no syllable.
 */
export function syllabify(symbols: readonly string[]): number[][] {
  const nuclei = symbols.flatMap((s, i) => (isVowel(s) ? [i] : []));
  if (symbols.length === 0) return [];
  if (nuclei.length <= 1) return [symbols.map((_, i) => i)];
  // Where each syllable after the first begins: between two nuclei, after the longest legal onset.
  const starts = [0];
  for (let k = 1; k < nuclei.length; k++) {
    const from = nuclei[k - 1]! + 1;
    const to = nuclei[k]!;
    let onsetStart = to;
    while (onsetStart > from && isOnset(symbols.slice(onsetStart - 1, to).map(stripStress))) onsetStart--;
    starts.push(onsetStart);
  }
  return starts.map((start, k) => {
    const end = k + 1 < starts.length ? starts[k + 1]! : symbols.length;
    return Array.from({ length: end - start }, (_, j) => start + j);
  });
}

/** The stress of a syllable: its vowel's digit (1 primary, 2 secondary, 0 none); null without a vowel or digit. */
export function syllableStress(symbols: readonly string[]): 'PRIMARY' | 'SECONDARY' | 'UNSTRESSED' | null {
  const vowel = symbols.find(isVowel);
  const digit = vowel?.match(/[012]$/)?.[0];
  if (digit === '1') return 'PRIMARY';
  if (digit === '2') return 'SECONDARY';
  if (digit === '0') return 'UNSTRESSED';
  return null;
}
