/**
 * Syllables of a word's canonical ARPAbet phones, for syllable-level scores (as Azure Pronunciation
 * Assessment reports them beside words and phonemes).
 *
 * Each vowel is the nucleus of one syllable, and so is a syllabic consonant: L, M or N after an
 * obstruent with no vowel after it in the word, as the lexicon writes final "-le", "-en", "-tion"
 * (PEOPLE: P IY1 | P L; SEVEN: S EH1 | V N; ADDITION: AH0 | D IH1 | SH N). The consonants between
 * two nuclei are split by the maximal onset principle: the next syllable begins with the longest run
 * of them that an English word can begin with (TOMORROW: T AH0 | M AH1 | R OW0; EXTRA: EH1 K |
 * S T R AH0; COMPUTER: K AH0 M | P Y UW1 | T ER0). Consonants before the first nucleus open the
 * first syllable, those after the last close the last one. A word without a nucleus (a label such as
 * "HMM" as HH M) is one syllable. This is the phonological split, not the one dictionaries print for
 * hyphenation (which keeps a short stressed vowel's consonant: ap-ple, where this gives AE1 | P AH0 L).
 */
import { isVowel, stripStress } from './phones.js';

/** Two- and three-consonant onsets that begin English words (ARPAbet, stress-free). */
const CLUSTER_ONSETS: ReadonlySet<string> = new Set([
  // stop or fricative + liquid
  'P R', 'B R', 'T R', 'D R', 'K R', 'G R', 'F R', 'TH R', 'SH R', 'V R',
  'P L', 'B L', 'K L', 'G L', 'F L', 'S L',
  // + W
  'T W', 'D W', 'K W', 'G W', 'S W', 'TH W', 'HH W',
  // + Y, before /u/ or /ʊ/ only (CUTE, MUSIC, HUGE, FEW, VIEW, BEAUTY, PURE; see isOnset)
  'P Y', 'B Y', 'K Y', 'G Y', 'F Y', 'V Y', 'M Y', 'HH Y',
  // S + stop or nasal, and S F (SPHERE)
  'S P', 'S T', 'S K', 'S M', 'S N', 'S F',
  // three consonants
  'S P R', 'S P L', 'S T R', 'S K R', 'S K W', 'S K L', 'S P Y', 'S K Y',
]);

/** Consonant + Y begins a syllable only before /u/ or /ʊ/ (CU-TE, PU-RE; POP-YA-LAR is not English). */
const BEFORE_Y_GLIDE: ReadonlySet<string> = new Set(['UW', 'UH']);

/** True when `consonants` (stress-free ARPAbet) can begin an English syllable whose nucleus is `nucleus`. */
function isOnset(consonants: readonly string[], nucleus: string): boolean {
  if (consonants.length === 0) return true;
  if (consonants.length === 1) return consonants[0] !== 'NG'; // no English word begins with /ŋ/
  if (consonants.at(-1) === 'Y' && !BEFORE_Y_GLIDE.has(nucleus)) return false;
  return CLUSTER_ONSETS.has(consonants.join(' '));
}

const SYLLABIC_CONSONANTS: ReadonlySet<string> = new Set(['L', 'M', 'N']);
/** The consonants before which L, M, N can be syllabic: obstruents (stops, fricatives, affricates). */
const OBSTRUENTS: ReadonlySet<string> = new Set(['P', 'B', 'T', 'D', 'K', 'G', 'F', 'V', 'TH', 'DH', 'S', 'Z', 'SH', 'ZH', 'CH', 'JH', 'HH']);

/** The positions of the word's syllable nuclei: its vowels, and syllabic L, M, N (see above). */
export function syllableNuclei(symbols: readonly string[]): number[] {
  const bare = symbols.map(stripStress);
  const lastVowel = bare.reduce((last, p, i) => (isVowel(p) ? i : last), -1);
  return bare.flatMap((p, i) => {
    if (isVowel(p)) return [i];
    const syllabic = SYLLABIC_CONSONANTS.has(p) && i > lastVowel && i > 0 && OBSTRUENTS.has(bare[i - 1]!);
    return syllabic ? [i] : [];
  });
}

/**
 * The word's syllables as runs of phone positions: `[[0, 1], [2, 3], [4, 5]]` for T AH0 M AH1 R OW0.
 * Every position appears once, in order. An empty word has no syllable.
 */
export function syllabify(symbols: readonly string[]): number[][] {
  if (symbols.length === 0) return [];
  const nuclei = syllableNuclei(symbols);
  if (nuclei.length <= 1) return [symbols.map((_, i) => i)];
  const bare = symbols.map(stripStress);
  // Where each syllable after the first begins: between two nuclei, after the longest legal onset.
  const starts = [0];
  for (let k = 1; k < nuclei.length; k++) {
    const from = nuclei[k - 1]! + 1;
    const to = nuclei[k]!;
    let onsetStart = to;
    while (onsetStart > from && isOnset(bare.slice(onsetStart - 1, to), bare[to]!)) onsetStart--;
    starts.push(onsetStart);
  }
  return starts.map((start, k) => {
    const end = k + 1 < starts.length ? starts[k + 1]! : symbols.length;
    return Array.from({ length: end - start }, (_, j) => start + j);
  });
}

/**
 * The stress of a syllable: its vowel's digit (1 primary, 2 secondary, 0 none); a syllabic consonant
 * is unstressed; null without a nucleus, or when the pronunciation has no stress digits.
 */
export function syllableStress(symbols: readonly string[]): 'PRIMARY' | 'SECONDARY' | 'UNSTRESSED' | null {
  const vowel = symbols.find(isVowel);
  if (!vowel) return syllableNuclei(symbols).length > 0 ? 'UNSTRESSED' : null;
  const digit = vowel.match(/[012]$/)?.[0];
  if (digit === '1') return 'PRIMARY';
  if (digit === '2') return 'SECONDARY';
  if (digit === '0') return 'UNSTRESSED';
  return null;
}
