/**
 * Abbreviations and currency symbols in reference texts, spelled out as a reader says them, before
 * the text is upper-cased and tokenised (normalizeReferenceText). Case matters here ("Dr. Smith" vs
 * "Elm Dr."), so this runs on the text as written.
 *
 * Only abbreviations with a full stop are expanded (plus Mr/Mrs/Ms/Dr, which British English writes
 * without one), so ordinary words ("no", "st" in "1st") are left alone. Titles read differently
 * before a name and after one: "Dr. Smith" → DOCTOR SMITH, "Elm Dr." → ELM DRIVE; "St. Paul" →
 * SAINT PAUL, "Baker St." → BAKER STREET.
 */

import { roundPluralWords } from './numbers.js';

/** Abbreviation (as written, without its full stop) → the words read, for every position. */
const ALWAYS: Record<string, string> = {
  Mr: 'Mister', Mrs: 'Missus', Prof: 'Professor', Jr: 'Junior', Sr: 'Senior', Mt: 'Mount', Ave: 'Avenue', Rd: 'Road',
  Blvd: 'Boulevard', Ln: 'Lane', Sq: 'Square', Capt: 'Captain', Lt: 'Lieutenant', Sgt: 'Sergeant', Gov: 'Governor',
  Dept: 'Department', Univ: 'University', Corp: 'Corporation', Inc: 'Incorporated', Ltd: 'Limited',
  approx: 'approximately', vs: 'versus', etc: 'et cetera',
  Feb: 'February', Apr: 'April', Aug: 'August', Sept: 'September', Oct: 'October', Nov: 'November', Dec: 'December',
  Tue: 'Tuesday', Thu: 'Thursday', Fri: 'Friday',
};
// Left out on purpose: abbreviations that are also words or names at the end of a sentence ("Jan.",
// "Sun.", "Sat.", "Mon.", "Co.", "min."), and units after numbers (they need the number's value).

/** Before a capitalised word (a name) → first reading; otherwise (after a name, at the end) → second. */
const BEFORE_OR_AFTER_NAME: Record<string, [string, string]> = {
  Dr: ['Doctor', 'Drive'],
  St: ['Saint', 'Street'],
};


/** Letter-by-letter abbreviations with stops. */
const DOTTED: [RegExp, string][] = [
  [/\be\.g\./gi, 'for example'],
  [/\bi\.e\./gi, 'that is'],
];

/** "$5", "£1.50", "€20", "5€": the amount, then the currency (singular for exactly one). */
const CURRENCY: Record<string, { one: string; many: string; small: [string, string] }> = {
  $: { one: 'dollar', many: 'dollars', small: ['cent', 'cents'] },
  '£': { one: 'pound', many: 'pounds', small: ['penny', 'pence'] },
  '€': { one: 'euro', many: 'euros', small: ['cent', 'cents'] },
};

/** "$1.01" → ONE DOLLAR ONE CENT, "$0.50" and "$.50" → FIFTY CENTS, "$1,000" → ONE THOUSAND DOLLARS. */
function spellAmount(symbol: string, whole: string, fraction: string | undefined): string {
  const { one, many, small } = CURRENCY[symbol]!;
  const units = Number(whole.replace(/,/g, ''));
  const cents = fraction ? Number(fraction.padEnd(2, '0')) : 0;
  const major = `${whole} ${units === 1 ? one : many}`;
  if (cents === 0) return ` ${major} `;
  const minor = `${cents} ${cents === 1 ? small[0] : small[1]}`;
  return units === 0 ? ` ${minor} ` : ` ${major} ${minor} `;
}

/** Titles before a name and street words after one: these start sentences, so after "Baker St." they
 * mean a new sentence, not a name ("Baker St. It is quiet" → STREET). */
const SENTENCE_STARTERS = new Set([
  'it', 'the', 'he', 'she', 'we', 'they', 'i', 'this', 'that', 'there', 'these', 'those', 'an', 'and', 'but', 'so',
  'you', 'my', 'our', 'his', 'her', 'its', 'their', 'then', 'now', 'come', 'go', 'turn', 'take', 'walk',
]);

/**
 * Dr/St before a name read as a title (DOCTOR, SAINT), otherwise as a street word (DRIVE, STREET).
 * "Before a name" means a following word that is capitalised where the text's case says something
 * (it has both cases), or any following word where it does not ("DR. SMITH", "dr. smith"), and not
 * one of the words that start a new sentence. Opening quotes and brackets are skipped ('Dr. "Bob"').
 */
function titleOrStreet(pair: [string, string], next: string | undefined, caseTells: boolean): string {
  if (!next || SENTENCE_STARTERS.has(next.toLowerCase())) return pair[1];
  return !caseTells || /^\p{Lu}/u.test(next) ? pair[0] : pair[1];
}

/**
 * Whether an abbreviation's stop also ends a sentence: the word after it starts a new one, or the
 * text ends there (nothing but space and closing quotes or brackets after the stop). A number or a symbol after it ("Dec. 5",
 * "Mr. & Mrs.", "approx. $5") continues the sentence.
 */
function endsSentence(next: string | undefined, textEnds: boolean, caseTells: boolean): boolean {
  if (next === undefined) return textEnds;
  return SENTENCE_STARTERS.has(next.toLowerCase()) && (!caseTells || /^\p{Lu}/u.test(next));
}

/**
 * The abbreviation as written, if it is one: exactly as listed ("Mr", "etc"), or in capitals
 * ("MR", "ETC": all-caps texts), or in lower case only where the whole text is ("mr. smith"). A
 * lower-case word elsewhere is a word ("data.gov." is not GOVERNOR).
 */
function lookup<V>(table: Record<string, V>, word: string, lowerText: boolean): V | undefined {
  for (const [key, value] of Object.entries(table)) {
    if (word === key || (word.length > 1 && word === key.toUpperCase()) || (lowerText && word === key.toLowerCase())) return value;
  }
  return undefined;
}

/** "$5 million", "€1.5 billion": the number with its scale word, then the currency. */
const SCALED_CURRENCY = /([$£€])\s?(\d[\d,]*(?:\.\d+)?)\s+(thousand|million|billion|trillion)\b/gi;

/**
 * An amount in the plural ("$100s", "£20's"). A round one is a rough sum: "$100s" → HUNDREDS OF
 * DOLLARS, "$1,000s" → THOUSANDS OF DOLLARS (roundPluralWords), as in "it cost $100s", "the $1000s
 * he saved". Any other is banknotes or a price range, said as the plural number with the currency
 * left unsaid: "a stack of $20s" → TWENTIES, "homes in the $500s" → THE FIVE HUNDREDS (numbers.ts).
 */
const PLURAL_AMOUNT = /([$£€])\s?(\d{1,3}(?:,\d{3})+|\d+)['\u2019]?[sS]\b/g;

export function expandAbbreviations(text: string): string {
  const caseTells = /\p{Ll}/u.test(text) && /\p{Lu}/u.test(text);
  const lowerText = !/\p{Lu}/u.test(text);
  let out = text;
  for (const [re, words] of DOTTED) out = out.replace(re, ` ${words} `);
  out = out.replace(PLURAL_AMOUNT, (_m, symbol: string, amount: string) => {
    const round = roundPluralWords(amount);
    return round ? ` ${round.join(' ').toLowerCase()} of ${CURRENCY[symbol]!.many} ` : ` ${amount}s `;
  });
  out = out.replace(SCALED_CURRENCY, (_m, symbol: string, amount: string, scale: string) => ` ${amount} ${scale} ${CURRENCY[symbol]!.many} `);
  // No whole part ("$.99", "£.50") is none at all: NINETY NINE CENTS, FIFTY PENCE.
  out = out.replace(/([$£€])\s?(?:(\d[\d,]*)(?:\.(\d{1,2}))?|\.(\d{1,2}))\b/g,
    (_m, symbol: string, whole: string | undefined, fraction: string | undefined, onlyFraction: string | undefined) =>
      spellAmount(symbol, whole ?? '0', fraction ?? onlyFraction));
  // The symbol after the amount is the continental way, whose decimal mark is a comma: "1,50 €".
  out = out.replace(/\b(\d[\d.]*),(\d{2})\s?([€£$])/g, (_m, whole: string, cents: string, symbol: string) =>
    spellAmount(symbol, whole.replace(/\./g, ','), cents));
  out = out.replace(/\b(\d[\d,]*)(?:\.(\d{1,2}))?\s?([$£€])/g, (_m, whole: string, fraction: string | undefined, symbol: string) =>
    spellAmount(symbol, whole, fraction));
  // "No. 5" → NUMBER FIVE ("NO. 5" in capitals); "no." elsewhere is the word no ("I said no. 5 more").
  out = out.replace(/\b(?:No|NO)\.(?=\s*\d)/g, ' number ');
  if (lowerText) out = out.replace(/^\s*no\.(?=\s*\d)/, ' number ');
  // Not a piece of a domain or a path ("data.gov.", "x/etc."): only a word of its own.
  // The next word may follow quotes or brackets, opening or closing ('etc.” Then', '(Dr. "Smith")').
  out = out.replace(/(?<![.@/\p{L}\d])([A-Za-z]+)\.(?=(?:\s*["'“‘”’»«()\[\]]*\s*(\p{L}+))?)/gu, (m, word: string, next: string | undefined, offset: number, whole: string) => {
    // The stop also ends a sentence ("Baker St. It is quiet", "and so on etc. Then"): it stays, apart,
    // as the phrase boundary it is (src/text/reference.ts phraseBreaksBefore); no token reads it.
    const textEnds = /^[\s"'”’»)\]]*$/.test(whole.slice(offset + m.length)); // nothing but space and closing marks
    const stop = endsSentence(next, textEnds, caseTells) ? ' . ' : ' ';
    const pair = lookup(BEFORE_OR_AFTER_NAME, word, lowerText);
    if (pair) {
      const reading = titleOrStreet(pair, next, caseTells);
      return ` ${reading}${reading === pair[1] ? stop : ' '}`;
    }
    const always = lookup(ALWAYS, word, lowerText);
    return always !== undefined ? ` ${always}${stop}` : m;
  });
  // Without a stop: Mr and Mrs are titles wherever a name follows; "DR" only where nothing precedes
  // it in its sentence ("DR SMITH", not "ELM DR IS": in capitals a street and a title look alike).
  out = out.replace(/\b(Mr|Mrs|MR|MRS)\b(?!\.)(?=\s+\p{Lu})/gu, (_m, word: string) => ` ${lookup(ALWAYS, word, false)} `);
  out = out.replace(/(^|[.!?;:,]\s*|\p{Ll}+\s+)\b(Dr|DR)\b(?!\.)(?=\s+\p{Lu})/gu, (_m, before: string) => `${before} Doctor `);
  return out;
}
