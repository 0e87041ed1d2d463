/**
 * Which letters of a written word spell which of its phones, and so which letters spell each
 * syllable ("to|mor|row"), as Azure Pronunciation Assessment reports a syllable's grapheme.
 *
 * English spelling is not a function of the sounds, so this is an alignment, not a rule: a dynamic
 * programme over the letters and the canonical phones in which a run of letters spells one phone
 * (free when the run is one of that phone's common spellings, below), one letter spells two phones
 * (X as K S, U as Y UW, O as W AH in ONE), a letter is silent (the E of MAKE, the K of KNOW), or,
 * dearest, a phone has no letter of its own (an inserted schwa). The cheapest alignment wins; ties go
 * to the longest spelling runs. The split follows the phones' syllables (src/text/syllables.ts): a
 * syllable's letters start with the letters of its first phone, and silent letters stay with the
 * syllable before. A doubled consonant that opens a syllable is split between the two syllables
 * (AP|PLE, HAP|PY, TO|MOR|ROW), as dictionaries hyphenate it.
 */
import { isVowel, stripStress } from './phones.js';

/** The common spellings of each phone (lower case), beyond which a letter costs MISMATCH. */
const SPELLINGS: Readonly<Record<string, readonly string[]>> = {
  // Vowels, with the r-coloured spellings of a non-rhotic pronunciation (AFTER as AA1 F T AH0).
  AA: ['a', 'o', 'ah', 'al', 'au', 'aw', 'ho', 'ea', 'ow', 'ou', 'e', 'ar', 'ear', 'are', 'arr'],
  AE: ['a', 'ai', 'au', 'ah', 'e'],
  AH: ['a', 'e', 'i', 'o', 'u', 'y', 'ou', 'oo', 'oe', 'io', 'ia', 'ai', 'eo', 'ah', 'au', 'ei', 'ie', 'ea', 'oa', 'ui', 'eou',
    'er', 'ar', 'or', 'ur', 're', 'our', 'ir', 'ure', 'yr'],
  AO: ['o', 'a', 'au', 'aw', 'al', 'ou', 'oa', 'augh', 'ough', 'oo', 'ao', 'ho', 'u', 'or', 'oar', 'our', 'ore', 'oor', 'ar'],
  AW: ['ou', 'ow', 'au', 'ough', 'ao'],
  AY: ['i', 'y', 'ie', 'igh', 'ai', 'ei', 'uy', 'ye', 'ey', 'eye', 'ay', 'is', 'ae', 'ais'],
  EH: ['e', 'ea', 'a', 'ai', 'ie', 'ue', 'ay', 'eo', 'ei', 'u', 'ae', 'air', 'are', 'ear', 'eir', 'er', 'ar'],
  ER: ['er', 'ir', 'ur', 'or', 'ear', 'our', 'ar', 'yr', 're', 'err', 'urr', 'irr', 'eur', 'r', 'ere', 'o', 'e', 'a', 'u'],
  EY: ['a', 'ai', 'ay', 'ei', 'ey', 'ea', 'eigh', 'aigh', 'e', 'et', 'ae', 'au', 'ee', 'ez'],
  IH: ['i', 'y', 'e', 'ee', 'u', 'o', 'ui', 'ie', 'a', 'ea', 'ei', 'ia', 'ai', 'ear', 'eer', 'ere', 'ier', 'ir'],
  IY: ['e', 'ee', 'ea', 'ie', 'ei', 'y', 'i', 'ey', 'eo', 'oe', 'ae', 'ay', 'is'],
  OW: ['o', 'oa', 'ow', 'oe', 'ough', 'ou', 'eau', 'ew', 'oh', 'au', 'oo', 'eo', 'ot', 'aoh'],
  OY: ['oi', 'oy', 'uoy', 'o'],
  UH: ['oo', 'u', 'ou', 'o', 'oul', 'ure', 'our', 'oor', 'ur'],
  UW: ['oo', 'u', 'ue', 'ew', 'o', 'ou', 'ui', 'oe', 'wo', 'ough', 'eu', 'oup', 'ieu'],
  // Consonants; L, M and N with the vowel letter of a syllabic consonant (ANIMAL, NATION, BRITAIN).
  B: ['b', 'bb', 'bu'],
  CH: ['ch', 'tch', 't', 'c', 'ti', 'cz', 'tu'],
  D: ['d', 'dd', 'ed', 'de', 'ld'],
  DH: ['th', 'the'],
  F: ['f', 'ff', 'ph', 'gh', 'fe', 'lf', 'pph'],
  G: ['g', 'gg', 'gu', 'gh', 'gue'],
  HH: ['h', 'wh', 'j'],
  JH: ['j', 'g', 'dg', 'dge', 'gg', 'd', 'ge', 'gi', 'di', 'de'],
  K: ['k', 'c', 'ck', 'ch', 'q', 'cc', 'kk', 'qu', 'lk', 'que', 'cq', 'cqu', 'kh'],
  L: ['l', 'll', 'le', 'lle', 'al', 'el', 'il', 'ol', 'ul', 'ell', 'all'],
  M: ['m', 'mm', 'mb', 'mn', 'lm', 'me', 'gm', 'om', 'um'],
  N: ['n', 'nn', 'kn', 'gn', 'pn', 'ne', 'mn', 'nne', 'on', 'en', 'an', 'ain', 'in', 'ten'],
  NG: ['ng', 'n', 'ngue'],
  P: ['p', 'pp', 'pe'],
  R: ['r', 'rr', 'wr', 'rh', 're'],
  S: ['s', 'ss', 'c', 'sc', 'ce', 'ps', 'se', 'st', 'sw', 'z', 'sse'],
  SH: ['sh', 'ti', 'ci', 'ch', 's', 'ss', 'si', 'sci', 'ce', 'sch', 'ssi', 'c', 't'],
  T: ['t', 'tt', 'ed', 'th', 'pt', 'te', 'bt', 'tte', 'ct'],
  TH: ['th'],
  V: ['v', 'f', 'vv', 've', 'ph'],
  W: ['w', 'u', 'o', 'wh', 'ou'],
  Y: ['y', 'i', 'j', 'e', 'u'],
  Z: ['z', 's', 'zz', 'ss', 'x', 'ze', 'se', 'es', 'si'],
  ZH: ['s', 'si', 'g', 'z', 'ge', 'zh', 'ti', 'j'],
};

/**
 * Runs of letters that spell two phones, with where the letters split between them ("c|c": the first
 * C is the K of ACCEPT, the second the S); without a bar, both phones come from the one run (X as K S)
 * and the second has no letter of its own.
 */
const TWO_PHONE_SPELLINGS: Readonly<Record<string, readonly string[]>> = {
  'K S': ['x', 'x|c', 'c|c', 'c|s', 'k|s', 'x|s', 'ck|s', 'c|ce'],
  'G Z': ['x', 'x|h'],
  'K SH': ['x'],
  'Y UW': ['u', 'ew', 'eu', 'ue', 'iew', 'eau', 'yu', 'ewe', 'ui'],
  'Y UH': ['u', 'eu'],
  'Y AH': ['u', 'i|o', 'i|a', 'i|u'],
  'Y ER': ['u|r', 'u'],
  'W AH': ['o', 'oi'],
  'K W': ['q|u', 'q', 'c|h'],
  'AY AH': ['i|a', 'i|o', 'i|e', 'i|re', 'y|er'],
  'IY AH': ['e|a', 'i|a', 'i|e', 'e|o', 'e|ar', 'e|er', 'e|re'],
};

/** Letters that are often silent, and their cost (any other letter: SILENT). */
const CHEAP_SILENCE: Readonly<Record<string, number>> = { e: 0.5, h: 0.6, u: 0.8, w: 0.8, gh: 0.6 };
const SILENT = 1;
/** A letter that is not a known spelling of the phone it is aligned with. */
const MISMATCH = 2;
/** A phone with no letter of its own. */
const NO_LETTER = 3;
/** The longest spelling run tried. */
const MAX_RUN = 4;

const SPELLING_SETS: ReadonlyMap<string, ReadonlySet<string>> = new Map(
  Object.entries(SPELLINGS).map(([phone, runs]) => [phone, new Set(runs)]),
);
/** Two phones' spellings by phones, then by run (bar removed): how many letters go to the first phone. */
const TWO_PHONE_SPLITS: ReadonlyMap<string, ReadonlyMap<string, number>> = new Map(
  Object.entries(TWO_PHONE_SPELLINGS).map(([phones, runs]) => [
    phones,
    new Map(runs.map((run) => [run.replace('|', ''), run.includes('|') ? run.indexOf('|') : run.length])),
  ]),
);

/** A letter that is no part of a spelling (an apostrophe, a hyphen): free to skip. */
const isMark = (c: string) => !/\p{L}/u.test(c);

/** Cost of `run` (lower case) spelling `phone` (stress-free), or Infinity when it cannot. */
function runCost(run: string, phone: string): number {
  if ([...run].some(isMark)) return Infinity;
  if (SPELLING_SETS.get(phone)?.has(run)) return 0;
  return run.length === 1 ? MISMATCH : Infinity;
}

/** Cost of letter `c` being silent. */
function silenceCost(c: string): number {
  if (isMark(c)) return 0;
  return CHEAP_SILENCE[c] ?? SILENT;
}

/**
 * For each phone of `phones` (ARPAbet, stress digits allowed), the half-open span of `word`'s
 * characters that spell it: `[[0, 1], [1, 2], ...]`. A phone without a letter of its own gets an
 * empty span where it falls; the second phone of a two-phone spelling (the S of X) gets an empty
 * span at its end. Silent letters are in no span. Deterministic, and always an alignment: an
 * unusual spelling costs more, it does not fail.
 */
export function alignGraphemes(word: string, phones: readonly string[]): Array<[number, number]> {
  const letters = [...word.toLowerCase()];
  const bare = phones.map(stripStress);
  const n = letters.length;
  const m = bare.length;
  const cost: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(Infinity));
  const from: Array<Array<[number, number] | null>> = Array.from({ length: n + 1 }, () => new Array(m + 1).fill(null));
  cost[0]![0] = 0;
  const relax = (i: number, j: number, di: number, dj: number, c: number) => {
    const total = cost[i]![j]! + c;
    const ni = i + di;
    const nj = j + dj;
    const best = cost[ni]![nj]!;
    // Ties go to the longer letter run: "ck" as K rather than a silent C and K.
    const prev = from[ni]![nj];
    if (total < best - 1e-9 || (Math.abs(total - best) <= 1e-9 && prev !== null && di > prev[0])) {
      cost[ni]![nj] = total;
      from[ni]![nj] = [di, dj];
    }
  };
  for (let i = 0; i <= n; i++) {
    for (let j = 0; j <= m; j++) {
      if (cost[i]![j] === Infinity) continue;
      if (i < n) relax(i, j, 1, 0, silenceCost(letters[i]!));
      if (j < m) relax(i, j, 0, 1, NO_LETTER);
      for (let k = 1; k <= MAX_RUN && i + k <= n; k++) {
        const run = letters.slice(i, i + k).join('');
        if (j < m) {
          const c = runCost(run, bare[j]!);
          if (c < Infinity) relax(i, j, k, 1, c);
        }
        if (j + 1 < m && TWO_PHONE_SPLITS.get(`${bare[j]} ${bare[j + 1]}`)?.has(run)) relax(i, j, k, 2, 0);
      }
    }
  }
  // Walk back from the end, giving each phone its span.
  const spans: Array<[number, number]> = new Array(m);
  let i = n;
  let j = m;
  while (i > 0 || j > 0) {
    const [di, dj] = from[i]![j]!;
    if (dj === 1) spans[j - 1] = [i - di, i];
    if (dj === 2) {
      const run = letters.slice(i - di, i).join('');
      const cut = i - di + TWO_PHONE_SPLITS.get(`${bare[j - 2]} ${bare[j - 1]}`)!.get(run)!;
      spans[j - 2] = [i - di, cut];
      spans[j - 1] = [cut, i];
    }
    i -= di;
    j -= dj;
  }
  return spans;
}

/**
 * The letters of `word` that spell each syllable, given as runs of phone positions
 * (src/text/syllables.ts's `syllabify`), in order; their concatenation is `word`. Null when some
 * syllable would get no letter at all (a letter read as a word: "W" has three syllables).
 */
export function syllableGraphemes(word: string, phones: readonly string[], syllables: readonly number[][]): string[] | null {
  if (syllables.length === 0) return [];
  const chars = [...word];
  const spans = alignGraphemes(word, phones);
  const starts = syllables.map((run, k) => (k === 0 ? 0 : openingLetter(chars, spans, run[0]!, phones[run[0]!]!)));
  const pieces = starts.map((start, k) => chars.slice(start, k + 1 < starts.length ? starts[k + 1] : chars.length).join(''));
  return pieces.every((piece) => /\p{L}/u.test(piece)) ? pieces : null;
}

/** Where the letters of a syllable that begins with phone `first` begin. */
function openingLetter(chars: readonly string[], spans: ReadonlyArray<[number, number]>, first: number, phone: string): number {
  const [start, end] = spans[first]!;
  // A doubled consonant letter opening the syllable (PP, TTE): its first letter closes the syllable before.
  const doubled = end - start >= 2 && chars[start]!.toLowerCase() === chars[start + 1]!.toLowerCase() && !isVowel(phone);
  return doubled ? start + 1 : start;
}
