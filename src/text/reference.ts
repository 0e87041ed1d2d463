/**
 * Reference text → words with canonical phones.
 *
 * Normalisation follows SpeechOcean762's texts: upper-case A-Z words separated by single spaces,
 * inner apostrophes kept ("DON'T", "O'CLOCK"), no punctuation, no hyphens (hyphenated parts become
 * separate words), numbers spelled out ("2" → TWO), abbreviations and currency read out ("Dr. Smith" →
 * DOCTOR SMITH, "$5" → FIVE DOLLARS: abbreviations.ts). Phones come from the dataset lexicon, then
 * CMUdict, then the letter-to-sound fallback.
 */
import { dictionary as cmudict } from 'cmu-pronouncing-dictionary';
import { AppError, badInput } from '../errors.js';
import type { ReferenceWord } from '../types.js';
import { letterToSound } from './g2p.js';
import { loadLexicon, type Lexicon } from './lexicon.js';
import { expandAbbreviations } from './abbreviations.js';
import { expandArithmetic, expandNumberForms, expandPhoneNumbers, numberWords } from './numbers.js';
import { stripStress } from './phones.js';

export { loadLexicon, parseLexicon, DEFAULT_LEXICON_PATH, type Lexicon } from './lexicon.js';
export { letterToSound } from './g2p.js';

export const MAX_REFERENCE_WORDS = 100;
export const MAX_REFERENCE_CHARS = 1000;

/** Apostrophe look-alikes folded to "'" (NFKC leaves these alone). */
const APOSTROPHES = /[\u2018\u2019\u201A\u201B\u2032\u2035\u02BC\u02BB\u02BD\u0060\u00B4\uFF07]/g;
/** Numeric tokens (with thousands commas, decimals, ordinal suffixes), words with inner apostrophes, and signs. */
const TOKEN = /\d(?:[\d,.]*\d)?(?:(?:ST|ND|RD|TH)(?![A-Z]))?|[A-Z]+(?:'[A-Z]+)*|[&%+=×÷\u2212]/g;
/**
 * Signs read as their names wherever they stand: "&" AND, "%" PERCENT, and the arithmetic ones
 * ("2+2", "+5", "C++", "A+", "x = 5"; expandArithmetic makes the look-alikes of an equation these).
 */
const SIGN_WORDS = new Map<string, string[]>([
  ['&', ['AND']], ['%', ['PERCENT']], ['+', ['PLUS']], ['=', ['EQUALS']], ['×', ['TIMES']], ['÷', ['DIVIDED', 'BY']], ['\u2212', ['MINUS']],
]);

interface Token {
  /** The normalised words it reads as ("2" → [TWO], "&" → [AND]). */
  words: string[];
  /** As matched, and where, in the folded text. */
  text: string;
  start: number;
  end: number;
}

/**
 * Stands in for the dash of a range, so that no phrase boundary is read there. A private-use
 * character: like a dash it is no letter, digit, space or mark any rewrite looks for, so the words
 * the text normalises to stay the same.
 */
const RANGE_DASH = '\uE000';

/**
 * A dash (hyphen, en dash, em dash; spaced or not, on one line) between two numeric expressions:
 * after a number, a percentage, a currency symbol after an amount, degrees, a number in the plural
 * or an ordinal ("5", "50%", "5€", "20°C", "1990s", "5s", "1st"), before a number, with a currency or number sign ("$10", "#2"), or a
 * decade with its apostrophe ("'90s").
 */
const NUMERIC_RANGE_DASH = /(?<=\d|\d%|\d\s?[$£€]|\d\s?°(?:\s?[CF])?|\d['\u2019]?s|\d(?:st|nd|rd|th))([^\S\r\n]*)(-+|[\u2013\u2014])([^\S\r\n]*)(?=[$£€#]?\d|['\u2018\u2019]\d0s)/gi;

/**
 * The dash of a range ("1990–2000", "$5–$10", "9:00-17:00", "50% – 60%") made RANGE_DASH before
 * the text is spelled out, when the expansions would hide that numbers stand on both sides of it.
 * A hyphen after a space and right before a number is a minus sign ("10 -20" → TEN MINUS TWENTY), kept.
 */
function markRangeDashes(text: string): string {
  return text.replace(NUMERIC_RANGE_DASH, (m, before: string, dash: string, after: string) =>
    dash.startsWith('-') && before !== '' && after === '' ? m : `${before}${RANGE_DASH}${after}`);
}

/** The text folded (abbreviations and number forms spelled out, upper case) and its tokens, in order. */
function referenceTokens(text: string): { folded: string; tokens: Token[] } {
  // "1½": NFKC makes it "11⁄2"; a space first keeps the whole number apart ("1 1⁄2").
  const separated = text.replace(/(\d)([\u00BC-\u00BE\u2150-\u215E])/g, '$1 $2');
  const folded = expandNumberForms(expandAbbreviations(markRangeDashes(expandArithmetic(expandPhoneNumbers(separated.normalize('NFKC'))))))
    .replace(APOSTROPHES, "'")
    .normalize('NFD')
    .replace(/\p{M}/gu, '') // café → cafe
    .toUpperCase();
  const tokens = [...folded.matchAll(TOKEN)].map((m) => {
    const tok = m[0];
    const words = SIGN_WORDS.get(tok) ?? (/^\d/.test(tok) ? numberWords(tok) : [tok]);
    return { words, text: tok, start: m.index, end: m.index + tok.length };
  });
  return { folded, tokens };
}

/**
 * Normalise a reference text to SpeechOcean762-style upper-case words. Does not enforce limits and
 * may return []: analyzeReferenceText does both.
 */
export function normalizeReferenceText(text: string): string[] {
  return referenceTokens(text).tokens.flatMap((t) => t.words);
}

/**
 * Whether the text between tokens i-1 and i marks a phrase boundary, where a reader is expected to
 * pause: a comma, semicolon, colon, question or exclamation mark followed by a space (closing
 * quotes between them allowed); a full stop (an ellipsis too) followed by a space, unless it ends an
 * initial ("J. Smith", "U.S. Army", "I. M. Pei": isInitial); a dash or a bracket, but not the dash of
 * a range ("1990–2000", "$5–$10", "9:00 - 17:00": markRangeDashes, before the numbers are spelled
 * out); a line break.
 */
function phraseBoundary(folded: string, tokens: Token[], i: number): boolean {
  const previous = tokens[i - 1]!;
  const next = tokens[i]!;
  const between = folded.slice(previous.end, next.start);
  const numeric = (t: Token) => /^\d/.test(t.text);
  if (/^\s*[\u2013\u2014]\s*$/.test(between) && numeric(previous) && numeric(next)) return false;
  if (/[\u2013\u2014()[\]\n]|\s-+\s/.test(between)) return true;
  if (/[,;:!?]["'\u201D\u00BB]*(?=\s)/.test(between)) return true;
  return /\.["'\u201D\u00BB]*(?=\s)/.test(between) && !isInitial(folded, tokens, i - 1);
}

/**
 * Words that start a sentence and never a name: after one, a single letter's full stop ends a
 * sentence ("vitamin C. Then", "plan B. It") instead of an initial ("J. Smith").
 */
const SENTENCE_STARTERS = new Set(
  ('the a an it its he she we they you i this that these those then there here but and so or if when while after ' +
    'before now next later also yet still my our your his her their what why how where who').split(' '),
);

/** Token i is a single letter with one full stop after it and nothing else before the next token ("J. ", "U.S"). */
function stoppedLetter(folded: string, tokens: Token[], i: number): boolean {
  const t = tokens[i];
  return t !== undefined && /^[A-Z]$/.test(t.text) && /^\.\s*$/.test(folded.slice(t.end, tokens[i + 1]?.start ?? folded.length));
}

/**
 * Whether the single letter with a full stop at token i is an initial, its stop no sentence end:
 * - before another single letter with a stop, a run of initials goes on, whatever the letters
 *   ("I. M. Pei", "J. A. Smith", "J. I. Smith");
 * - otherwise before a word that can begin a name ("J. Smith"; not "vitamin C. Then", "plan B. It"),
 *   where the letter is not I or is the last of a run ("J. I. Smith"): a lone "I." is the pronoun
 *   ending its sentence ("It was I. Then I left", "It was I. Mary left").
 */
function isInitial(folded: string, tokens: Token[], i: number): boolean {
  const letter = tokens[i]!;
  const next = tokens[i + 1]!;
  if (!/^[A-Z]$/.test(letter.text)) return false;
  if (stoppedLetter(folded, tokens, i + 1)) return true;
  if (letter.text === 'I' && !stoppedLetter(folded, tokens, i - 1)) return false;
  return !SENTENCE_STARTERS.has(next.text.toLowerCase());
}

/**
 * One entry per word of normalizeReferenceText(text): true where the text has a phrase boundary
 * (phraseBoundary) just before that word. The first word, and every word after the first of a
 * token read as several ("21" → TWENTY ONE), is false. Abbreviations are expanded first, so the
 * full stop of "Dr." is no boundary.
 */
export function phraseBreaksBefore(text: string): boolean[] {
  const { folded, tokens } = referenceTokens(text);
  return tokens.flatMap((t, i) => {
    const before = i > 0 && phraseBoundary(folded, tokens, i);
    return t.words.map((_w, j) => j === 0 && before);
  });
}

/**
 * The normalised text an utterance was scored on: its stored words joined by spaces (so later
 * normaliser or lexicon changes cannot move it), or the text normalised now for a row without them.
 */
export function storedNormalizedText(referenceWords: unknown, referenceText: string): string {
  const words = Array.isArray(referenceWords)
    ? referenceWords.map((w) => (w as { text?: unknown }).text).filter((t): t is string => typeof t === 'string')
    : [];
  return (words.length > 0 ? words : normalizeReferenceText(referenceText)).join(' ');
}

function cmuLookup(word: string): string[] | undefined {
  const key = word.toLowerCase();
  if (!Object.hasOwn(cmudict, key)) return undefined;
  const v = cmudict[key];
  return typeof v === 'string' && v.trim() !== '' ? v.trim().split(/\s+/) : undefined;
}

function dictionaryLookup(word: string, lexicon: Lexicon): Pick<ReferenceWord, 'phones' | 'source'> | undefined {
  const fromDataset = lexicon.lookup(word);
  if (fromDataset) return { phones: [...fromDataset], source: 'dataset' };
  const fromCmu = cmuLookup(word);
  if (fromCmu) return { phones: fromCmu, source: 'cmudict' };
  return undefined;
}

/** Phones of the possessive/plural "'S" after a stem ending in `last`. */
function sSuffix(last: string | undefined): string[] {
  const p = last === undefined ? '' : stripStress(last);
  if (['S', 'Z', 'SH', 'ZH', 'CH', 'JH'].includes(p)) return ['IH0', 'Z'];
  if (['P', 'T', 'K', 'F', 'TH'].includes(p)) return ['S'];
  return ['Z'];
}

/** Canonical phones of one normalised (upper-case) word. Never throws for a word with a letter. */
export function pronounceWord(word: string, lexicon: Lexicon = loadLexicon()): ReferenceWord {
  const hit = dictionaryLookup(word, lexicon);
  if (hit) return { text: word, ...hit };
  const possessive = /^(.+)'S$/.exec(word);
  if (possessive) {
    const stem = dictionaryLookup(possessive[1]!, lexicon);
    if (stem) return { text: word, phones: [...stem.phones, ...sSuffix(stem.phones.at(-1))], source: stem.source };
    const g2p = letterToSound(possessive[1]!);
    if (g2p.length > 0) return { text: word, phones: [...g2p, ...sSuffix(g2p.at(-1))], source: 'g2p' };
  }
  return { text: word, phones: letterToSound(word), source: 'g2p' };
}

/**
 * Normalise a reference text and give each word its canonical phones.
 * Throws AppError BAD_USER_INPUT when the text is over MAX_REFERENCE_CHARS characters or has over
 * MAX_REFERENCE_WORDS words (after numbers are spelled out), EMPTY_REFERENCE_TEXT when no word is left.
 */
export function analyzeReferenceText(text: string, lexicon?: Lexicon, argument = 'input.referenceText'): ReferenceWord[] {
  // `argument`: the API input the text came from (errors.ts, badInput): submitUtterance's by default.
  if (typeof text !== 'string') throw badInput('Reference text must be a string.', argument);
  const chars = [...text].length;
  if (chars > MAX_REFERENCE_CHARS) {
    throw badInput(`Reference text is too long: ${chars} characters (at most ${MAX_REFERENCE_CHARS}).`, argument, { maxChars: MAX_REFERENCE_CHARS });
  }
  const words = normalizeReferenceText(text);
  if (words.length === 0) {
    throw new AppError('EMPTY_REFERENCE_TEXT', 'Reference text contains no words to read.', { argument });
  }
  if (words.length > MAX_REFERENCE_WORDS) {
    throw badInput(`Reference text is too long: ${words.length} words (at most ${MAX_REFERENCE_WORDS}).`, argument, { maxWords: MAX_REFERENCE_WORDS });
  }
  const lex = lexicon ?? loadLexicon();
  return words.map((w) => pronounceWord(w, lex));
}
