/**
 * Rule-based letter-to-sound fallback for words in neither the dataset lexicon nor CMUdict.
 * Approximate by design (English spelling is not rule-governed); it only has to give a plausible
 * canonical phone string so that scoring can proceed. Never throws; returns at least one phone
 * for any input that contains a letter A-Z, and phones are always from PHONES (vowels carry a
 * stress digit: 1 on the first vowel, 0 on the others).
 */
import { isVowel } from './phones.js';

const VOWEL_LETTERS = new Set(['A', 'E', 'I', 'O', 'U']);

/** Letter names, for single letters and vowel-less words (acronyms such as "NBC"). */
const LETTER_NAMES: Record<string, string[]> = {
  A: ['EY'], B: ['B', 'IY'], C: ['S', 'IY'], D: ['D', 'IY'], E: ['IY'], F: ['EH', 'F'],
  G: ['JH', 'IY'], H: ['EY', 'CH'], I: ['AY'], J: ['JH', 'EY'], K: ['K', 'EY'], L: ['EH', 'L'],
  M: ['EH', 'M'], N: ['EH', 'N'], O: ['OW'], P: ['P', 'IY'], Q: ['K', 'Y', 'UW'], R: ['AA', 'R'],
  S: ['EH', 'S'], T: ['T', 'IY'], U: ['Y', 'UW'], V: ['V', 'IY'], W: ['D', 'AH', 'B', 'AH', 'L', 'Y', 'UW'],
  X: ['EH', 'K', 'S'], Y: ['W', 'AY'], Z: ['Z', 'IY'],
};

interface Ctx {
  /** The word, upper-case A-Z only. */
  w: string;
  /** Start of the grapheme being matched. */
  i: number;
}

interface Rule {
  g: string;
  p: string[];
  when?: (c: Ctx, end: number) => boolean;
}

const isV = (ch: string | undefined): boolean => ch !== undefined && VOWEL_LETTERS.has(ch);
const isC = (ch: string | undefined): boolean => ch !== undefined && /[A-Z]/.test(ch) && !VOWEL_LETTERS.has(ch);
const atStart = (c: Ctx): boolean => c.i === 0;
const atEnd = (c: Ctx, end: number): boolean => end === c.w.length;
const hasVowelBefore = (c: Ctx): boolean => /[AEIOUY]/.test(c.w.slice(0, c.i));
/** Vowel + one consonant + final E (optionally + S/D): "MAKE", "MAKES", "HOPED". */
const magicE = (c: Ctx, end: number): boolean => {
  const rest = c.w.slice(end);
  return isC(rest[0]) && rest[0] !== 'X' && rest[0] !== 'W' && /^E[SD]?$/.test(rest.slice(1));
};
const frontVowelNext = (c: Ctx, end: number): boolean => /[EIY]/.test(c.w[end] ?? '');

/** Ordered: within a position the first matching rule wins, so longer graphemes come first. */
const RULES: Rule[] = [
  // word endings
  { g: 'TION', p: ['SH', 'AH', 'N'] },
  { g: 'SION', p: ['ZH', 'AH', 'N'] },
  { g: 'TURE', p: ['CH', 'ER'] },
  { g: 'ES', p: ['IH', 'Z'], when: (c, e) => atEnd(c, e) && /(S|X|Z|CH|SH|C|G)$/.test(c.w.slice(0, c.i)) },
  { g: 'ES', p: ['Z'], when: (c, e) => atEnd(c, e) && hasVowelBefore(c) },
  { g: 'ED', p: ['IH', 'D'], when: (c, e) => atEnd(c, e) && /[TD]$/.test(c.w.slice(0, c.i)) },
  { g: 'ED', p: ['D'], when: (c, e) => atEnd(c, e) && hasVowelBefore(c) },
  { g: 'LE', p: ['AH', 'L'], when: (c, e) => atEnd(c, e) && isC(c.w[c.i - 1]) && hasVowelBefore(c) },
  { g: 'E', p: [], when: (c, e) => atEnd(c, e) && hasVowelBefore(c) },
  // consonant clusters
  { g: 'TCH', p: ['CH'] },
  { g: 'DGE', p: ['JH'] },
  { g: 'SCH', p: ['S', 'K'] },
  { g: 'KN', p: ['N'], when: atStart },
  { g: 'WR', p: ['R'], when: atStart },
  { g: 'PS', p: ['S'], when: atStart },
  { g: 'GN', p: ['N'], when: atStart },
  { g: 'MB', p: ['M'], when: atEnd },
  { g: 'CH', p: ['CH'] },
  { g: 'SH', p: ['SH'] },
  { g: 'TH', p: ['TH'] },
  { g: 'PH', p: ['F'] },
  { g: 'WH', p: ['W'] },
  { g: 'GH', p: ['G'], when: atStart },
  { g: 'GH', p: [] },
  { g: 'CK', p: ['K'] },
  { g: 'NG', p: ['NG'] },
  { g: 'NK', p: ['NG', 'K'] },
  { g: 'QU', p: ['K', 'W'] },
  { g: 'CC', p: ['K', 'S'], when: frontVowelNext },
  { g: 'CE', p: ['S'], when: (c, e) => atEnd(c, e) }, // handled as C + silent E below in most words
  // vowel + R
  { g: 'AIR', p: ['EH', 'R'] },
  { g: 'EAR', p: ['IH', 'R'] },
  { g: 'EER', p: ['IH', 'R'] },
  { g: 'OOR', p: ['AO', 'R'] },
  { g: 'OUR', p: ['AW', 'ER'] },
  { g: 'AR', p: ['AA', 'R'], when: (c, e) => !isV(c.w[e]) },
  { g: 'OR', p: ['AO', 'R'], when: (c, e) => !isV(c.w[e]) },
  { g: 'ER', p: ['ER'], when: (c, e) => !isV(c.w[e]) },
  { g: 'IR', p: ['ER'], when: (c, e) => !isV(c.w[e]) },
  { g: 'UR', p: ['ER'], when: (c, e) => !isV(c.w[e]) },
  // vowel digraphs
  { g: 'EAU', p: ['OW'] },
  { g: 'IGH', p: ['AY'] },
  { g: 'AI', p: ['EY'] },
  { g: 'AY', p: ['EY'] },
  { g: 'AU', p: ['AO'] },
  { g: 'AW', p: ['AO'] },
  { g: 'EA', p: ['IY'] },
  { g: 'EE', p: ['IY'] },
  { g: 'EY', p: ['IY'], when: atEnd },
  { g: 'EY', p: ['EY'] },
  { g: 'EI', p: ['EY'] },
  { g: 'EW', p: ['UW'] },
  { g: 'IE', p: ['IY'] },
  { g: 'OA', p: ['OW'] },
  { g: 'OE', p: ['OW'] },
  { g: 'OI', p: ['OY'] },
  { g: 'OY', p: ['OY'] },
  { g: 'OO', p: ['UW'] },
  { g: 'OU', p: ['AW'] },
  { g: 'OW', p: ['OW'], when: atEnd },
  { g: 'OW', p: ['AW'] },
  { g: 'UE', p: ['UW'] },
  { g: 'UI', p: ['UW'] },
  // single vowels: long before a magic E, at the end of a word, else short
  { g: 'A', p: ['EY'], when: magicE },
  { g: 'E', p: ['IY'], when: magicE },
  { g: 'I', p: ['AY'], when: magicE },
  { g: 'O', p: ['OW'], when: magicE },
  { g: 'U', p: ['UW'], when: magicE },
  { g: 'A', p: ['AH'], when: (c, e) => atEnd(c, e) && hasVowelBefore(c) },
  { g: 'E', p: ['IY'], when: atEnd },
  { g: 'I', p: ['IY'], when: atEnd },
  { g: 'O', p: ['OW'], when: atEnd },
  { g: 'U', p: ['UW'], when: atEnd },
  { g: 'A', p: ['AE'] },
  { g: 'E', p: ['EH'] },
  { g: 'I', p: ['IH'] },
  { g: 'O', p: ['AA'] },
  { g: 'U', p: ['AH'] },
  // Y: consonant before a vowel, else a vowel
  { g: 'Y', p: ['Y'], when: (c, e) => isV(c.w[e]) },
  { g: 'Y', p: ['AY'], when: (c, e) => atEnd(c, e) && !hasVowelBefore(c) },
  { g: 'Y', p: ['IY'], when: atEnd },
  { g: 'Y', p: ['IH'] },
  // single consonants
  { g: 'C', p: ['S'], when: frontVowelNext },
  { g: 'C', p: ['K'] },
  { g: 'G', p: ['JH'], when: (c, e) => /[EIY]/.test(c.w[e] ?? '') && c.i > 0 },
  { g: 'G', p: ['G'] },
  { g: 'X', p: ['Z'], when: atStart },
  { g: 'X', p: ['K', 'S'] },
  { g: 'S', p: ['Z'], when: (c, e) => atEnd(c, e) && c.i > 0 && /[AEIOUYBDGLMNRVW]/.test(c.w[c.i - 1] ?? '') },
  { g: 'S', p: ['S'] },
  { g: 'Q', p: ['K'] },
  { g: 'J', p: ['JH'] },
  { g: 'H', p: ['HH'] },
  { g: 'W', p: ['W'] },
  { g: 'B', p: ['B'] }, { g: 'D', p: ['D'] }, { g: 'F', p: ['F'] }, { g: 'K', p: ['K'] },
  { g: 'L', p: ['L'] }, { g: 'M', p: ['M'] }, { g: 'N', p: ['N'] }, { g: 'P', p: ['P'] },
  { g: 'R', p: ['R'] }, { g: 'T', p: ['T'] }, { g: 'V', p: ['V'] }, { g: 'Z', p: ['Z'] },
];

/** Add stress digits: 1 on the first vowel, 0 on the others. */
function stress(phones: string[]): string[] {
  let seen = false;
  return phones.map((p) => {
    if (!isVowel(p)) return p;
    const d = seen ? '0' : '1';
    seen = true;
    return p + d;
  });
}

function spell(letters: string): string[] {
  const out: string[] = [];
  for (const ch of letters) out.push(...(LETTER_NAMES[ch] ?? []));
  return out;
}

/**
 * Letter-to-sound: ARPAbet phones with stress digits. Non-letters are ignored. Returns [] only when the input has no letter A-Z.
 */
export function letterToSound(word: string): string[] {
  const w = word
    .normalize('NFKD')
    .toUpperCase()
    .replace(/[^A-Z]/g, '');
  if (w.length === 0) return [];
  if (w.length === 1 || !/[AEIOUY]/.test(w)) return stress(spell(w));
  const out: string[] = [];
  let i = 0;
  while (i < w.length) {
    // The second of a doubled consonant is silent ("HOPPED", "BELL"); "CC" before E/I/Y is a rule.
    if (i > 0 && w[i] === w[i - 1] && isC(w[i])) {
      i += 1;
      continue;
    }
    let matched = false;
    for (const r of RULES) {
      if (!w.startsWith(r.g, i)) continue;
      const end = i + r.g.length;
      if (r.when && !r.when({ w, i }, end)) continue;
      out.push(...r.p);
      i = end;
      matched = true;
      break;
    }
    if (!matched) i += 1; // unreachable for A-Z (every letter has an unconditional rule); defensive
  }
  // Degenerate spellings (e.g. "GHE") can map to nothing: spell the letters instead.
  return stress(out.length > 0 ? out : spell(w));
}
