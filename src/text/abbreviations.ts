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

/** Written without a full stop in British English; expanded only before a capitalised name. */
const TITLES_WITHOUT_STOP = new Set(['Mr', 'Mrs', 'Dr']);

/** Letter-by-letter abbreviations with stops. */
const DOTTED: [RegExp, string][] = [
  [/\be\.g\./gi, 'for example'],
  [/\bi\.e\./gi, 'that is'],
];

/** "$5", "£1.50", "€20": the amount, then the currency (singular for exactly one). */
const CURRENCY: Record<string, [string, string, string]> = {
  $: ['dollar', 'dollars', 'cents'],
  '£': ['pound', 'pounds', 'pence'],
  '€': ['euro', 'euros', 'cents'],
};

function spellCurrency(_m: string, symbol: string, whole: string, fraction: string | undefined): string {
  const [one, many, small] = CURRENCY[symbol]!;
  const unit = whole.replace(/,/g, '') === '1' ? one : many;
  const cents = fraction ? Number(fraction.padEnd(2, '0')) : 0;
  return cents > 0 ? ` ${whole} ${unit} ${cents} ${small} ` : ` ${whole} ${unit} `;
}

export function expandAbbreviations(text: string): string {
  let out = text;
  for (const [re, words] of DOTTED) out = out.replace(re, ` ${words} `);
  out = out.replace(/([$£€])\s?(\d[\d,]*)(?:\.(\d{1,2}))?\b/g, spellCurrency);
  // "No. 5" → NUMBER FIVE; "no." elsewhere is the word no.
  out = out.replace(/\bNo\.(?=\s*\d)/g, ' number ');
  out = out.replace(/\b([A-Za-z]+)\.(?=(\s+)?(\S)?)/g, (m, word: string, _space, next: string | undefined) => {
    const pair = BEFORE_OR_AFTER_NAME[word];
    if (pair) return ` ${next && /\p{Lu}/u.test(next) ? pair[0] : pair[1]} `;
    return Object.hasOwn(ALWAYS, word) ? ` ${ALWAYS[word]} ` : m;
  });
  out = out.replace(/\b(Mr|Mrs|Dr)\b(?!\.)(?=\s+\p{Lu})/gu, (m, word: string) =>
    TITLES_WITHOUT_STOP.has(word) ? ` ${ALWAYS[word] ?? BEFORE_OR_AFTER_NAME[word]![0]} ` : m);
  return out;
}
