/**
 * Spelling out numbers in reference texts, in SpeechOcean762's style: upper-case words, no hyphens
 * ("21" → TWENTY ONE), digit strings read digit by digit ("0351" → ZERO THREE FIVE ONE).
 */

const ONES = [
  'ZERO', 'ONE', 'TWO', 'THREE', 'FOUR', 'FIVE', 'SIX', 'SEVEN', 'EIGHT', 'NINE', 'TEN',
  'ELEVEN', 'TWELVE', 'THIRTEEN', 'FOURTEEN', 'FIFTEEN', 'SIXTEEN', 'SEVENTEEN', 'EIGHTEEN', 'NINETEEN',
];
const TENS = ['', '', 'TWENTY', 'THIRTY', 'FORTY', 'FIFTY', 'SIXTY', 'SEVENTY', 'EIGHTY', 'NINETY'];
const ORDINAL_IRREGULAR: Record<string, string> = {
  ONE: 'FIRST', TWO: 'SECOND', THREE: 'THIRD', FIVE: 'FIFTH', EIGHT: 'EIGHTH', NINE: 'NINTH', TWELVE: 'TWELFTH',
};

/** Largest integer spelled as a cardinal: up to 999,999,999,999 when written with thousands commas. */
export const MAX_CARDINAL = 999_999_999_999;
/** Without commas, longer digit strings (phone numbers, codes) are read digit by digit. */
const MAX_PLAIN_CARDINAL = 999_999;

const SCALES: [number, string][] = [[1e9, 'BILLION'], [1e6, 'MILLION'], [1e3, 'THOUSAND']];

function below1000(n: number): string[] {
  const out: string[] = [];
  const h = Math.floor(n / 100);
  const r = n % 100;
  if (h > 0) out.push(ONES[h]!, 'HUNDRED');
  if (r > 0 || h === 0) {
    if (h > 0) out.push('AND');
    if (r < 20) out.push(ONES[r]!);
    else {
      out.push(TENS[Math.floor(r / 10)]!);
      if (r % 10 > 0) out.push(ONES[r % 10]!);
    }
  }
  return out;
}

/**
 * 0 ≤ n ≤ MAX_CARDINAL: "TWO", "TWENTY ONE", "ONE HUNDRED AND FIVE", "TWO THOUSAND AND TWENTY",
 * "ONE MILLION TWO HUNDRED THOUSAND" (British "AND" before a last group under a hundred).
 */
export function cardinalWords(n: number): string[] {
  if (!Number.isInteger(n) || n < 0 || n > MAX_CARDINAL) throw new RangeError(`cardinalWords: ${n}`);
  if (n < 1000) return below1000(n);
  const out: string[] = [];
  let rest = n;
  for (const [size, name] of SCALES) {
    if (rest >= size) {
      out.push(...below1000(Math.floor(rest / size)), name);
      rest %= size;
    }
  }
  if (rest === 0) return out;
  if (rest < 100) out.push('AND');
  out.push(...below1000(rest));
  return out;
}

/** A year as it is read: 1999 → NINETEEN NINETY NINE, 1905 → NINETEEN OH FIVE, 1900 → NINETEEN HUNDRED. */
export function yearWords(n: number): string[] {
  const hi = Math.floor(n / 100);
  const lo = n % 100;
  if (lo === 0) return [...below1000(hi), 'HUNDRED'];
  return [...below1000(hi), ...(lo < 10 ? ['OH', ONES[lo]!] : below1000(lo))];
}

/** Plain four-digit numbers read as years: 1010-1999 ("in 1066", "in 1999"). From 2000 both readings
 * are usual ("two thousand and five", "twenty twenty"), and the cardinal is kept. */
function isYear(digits: string): boolean {
  return /^1[0-9]\d\d$/.test(digits) && Number(digits) >= 1010;
}

/** A decade or century as read: 1990 → NINETEEN NINETIES, 1900 → NINETEEN HUNDREDS, 2000 → TWO
 * THOUSANDS, 2010 → TWENTY TENS, 80 → EIGHTIES. */
function decadeWords(n: number): string[] {
  if (n === 2000) return ['TWO', 'THOUSANDS'];
  if (n > 2000 && n < 2100) return pluralNumberWords(['TWENTY', ...below1000(n % 100)]);
  return pluralNumberWords(n >= 1000 ? yearWords(n) : cardinalWords(n));
}

/**
 * A power of ten of at least a hundred, in the plural, as a rough count is said: "100" → HUNDREDS,
 * "1,000" → THOUSANDS, "10000" → TENS OF THOUSANDS, "100,000" → HUNDREDS OF THOUSANDS, "1000000" →
 * MILLIONS; undefined for any other number ("10s" is TENS, "500s" FIVE HUNDREDS: pluralNumberWords).
 */
export function roundPluralWords(number: string): string[] | undefined {
  const m = /^1(0{2,11})$/.exec(number.replace(/,/g, ''));
  if (!m) return undefined;
  const zeros = m[1]!.length;
  if (zeros === 2) return ['HUNDREDS'];
  const scale = ['THOUSANDS', 'MILLIONS', 'BILLIONS'][Math.floor(zeros / 3) - 1]!;
  return [...[[], ['TENS', 'OF'], ['HUNDREDS', 'OF']][zeros % 3]!, scale];
}

/** The plural of a number's last word, for decades and centuries: NINETY → NINETIES, HUNDRED → HUNDREDS. */
export function pluralNumberWords(words: string[]): string[] {
  const last = words.at(-1)!;
  const plural = last.endsWith('Y') ? `${last.slice(0, -1)}IES` : last === 'SIX' ? 'SIXES' : `${last}S`;
  return [...words.slice(0, -1), plural];
}

export function ordinalWords(n: number): string[] {
  const words = cardinalWords(n);
  const last = words[words.length - 1]!;
  let ord = ORDINAL_IRREGULAR[last];
  if (ord === undefined) ord = last.endsWith('Y') ? `${last.slice(0, -1)}IETH` : `${last}TH`;
  words[words.length - 1] = ord;
  return words;
}

export function digitWords(digits: string): string[] {
  return [...digits].filter((d) => d >= '0' && d <= '9').map((d) => ONES[Number(d)]!);
}

/**
 * Words for one numeric token (digits, optional thousands commas, optional decimal part, optional
 * ordinal suffix): "2" → TWO, "1,000" → ONE THOUSAND, "3.5" → THREE POINT FIVE, "21ST" → TWENTY FIRST,
 * "007" → ZERO ZERO SEVEN, "12345678" → digit by digit.
 */
export function numberWords(token: string): string[] {
  const t = token.toUpperCase();
  const ord = /^(\d{1,3}(?:,\d{3})+|\d{1,6})(ST|ND|RD|TH)$/.exec(t);
  if (ord) {
    const digits = ord[1]!.replace(/,/g, '');
    const spelled = (digits.length === 1 || !digits.startsWith('0')) && Number(digits) <= MAX_CARDINAL;
    if (spelled) return Number(digits) === 0 ? ['ZEROTH'] : ordinalWords(Number(digits));
  }
  const m = /^(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?$/.exec(t);
  if (!m) return digitWords(t);
  const grouped = m[1]!.includes(',');
  const intPart = m[1]!.replace(/,/g, '');
  const n = Number(intPart);
  const intWords =
    (intPart.length > 1 && intPart.startsWith('0')) || n > (grouped ? MAX_CARDINAL : MAX_PLAIN_CARDINAL)
      ? digitWords(intPart)
      : !grouped && m[2] === undefined && isYear(intPart) ? yearWords(n) : cardinalWords(n);
  return m[2] === undefined ? intWords : [...intWords, 'POINT', ...digitWords(m[2])];
}

/** "n/d" read as a fraction ("3/4" → THREE QUARTERS): one digit over a larger one of 2-10. */
function isSimpleFraction(n: string, d: string): boolean {
  return /^[1-9]$/.test(n) && /^\d{1,2}$/.test(d) && Number(d) >= 2 && Number(d) <= 10 && Number(n) < Number(d);
}

/** Denominators read as words in fractions ("3/4" → THREE QUARTERS). */
const FRACTION_NAMES: Record<number, [string, string]> = { 2: ['HALF', 'HALVES'], 4: ['QUARTER', 'QUARTERS'] };

function fractionWords(n: number, d: number): string[] {
  const [one, many] = FRACTION_NAMES[d] ?? [ordinalWords(d).at(-1)!, `${ordinalWords(d).at(-1)!}S`];
  return n === 1 ? ['ONE', one] : [...cardinalWords(n), many];
}

const spaced = (words: string[]): string => ` ${words.join(' ')} `;

/** Hours said with "hundred" on the 24-hour clock's full hours: 13:00 → THIRTEEN HUNDRED, 00:00 → ZERO HUNDRED. */
function clockWords(h: number, minutes: number): string[] {
  const hour = cardinalWords(h);
  if (minutes === 0) return [...hour, h >= 1 && h <= 12 ? "O'CLOCK" : 'HUNDRED'];
  return [...hour, ...(minutes < 10 ? ['OH', ONES[minutes]!] : cardinalWords(minutes))];
}

/**
 * Numbers whose reading depends on the characters around them, rewritten as words before the
 * text is tokenised: clock times ("10:30" → TEN THIRTY, "9:05" → NINE OH FIVE, "10:00" → TEN
 * O'CLOCK, "24:00" → TWENTY FOUR HUNDRED), simple fractions ("1/2", "½" → ONE HALF, "½ a mile" →
 * HALF A MILE, "2 3/4" → TWO AND THREE QUARTERS, "2½" → TWO AND A HALF; not "1/2/3", a date or a code), decades ("1990s",
 * "1990's" → NINETEEN NINETIES, "the 80s", "'80s" → EIGHTIES; "100s" → HUNDREDS, "1000s" → THOUSANDS,
 * "the 500s" → THE FIVE HUNDREDS; any other number in the plural too: "in her 30s" → THIRTIES), degrees ("20°C" →
 * TWENTY DEGREES CELSIUS, "20 °F" → … FAHRENHEIT, "90°" → NINETY DEGREES, "1°" → ONE DEGREE, "a 90°
 * angle" → A NINETY DEGREE ANGLE), "#1" →
 * NUMBER ONE and a minus sign ("-5" → MINUS FIVE). Runs after NFKC, which turns "½" into "1⁄2"
 * (normalizeReferenceText separates "1½" first) and "℃" into "°C".
 */
export function expandNumberForms(text: string): string {
  return text
    .replace(/\b([01]?\d|2[0-4]):([0-5]\d)\b/g, (m, h: string, mm: string) =>
      Number(h) === 24 && mm !== '00' ? m : spaced(clockWords(Number(h), Number(mm))))
    .replace(
      /(?<![\d/\u2044]\s?)(?:\b(\d{1,3})\s+)?\b([1-9])\s?[/\u2044]\s?(\d{1,2})\b(?!\s?[/\u2044]\s?\d)(?=(\s+an?\b)?)/gi,
      (m, whole: string | undefined, n: string, d: string, article: string | undefined) => {
        const num = Number(n);
        const den = Number(d);
        if (!isSimpleFraction(n, d)) return m;
        // "½ a mile" is read HALF A MILE; after a whole number ("2½ hours") the fraction is said in full.
        if (!whole && article && num === 1 && den === 2) return ' HALF ';
        // After a whole number a unit fraction takes "a": 2½ → TWO AND A HALF.
        if (whole) return spaced([...numberWords(whole), 'AND', ...(num === 1 ? ['A', fractionWords(1, den).at(-1)!] : fractionWords(num, den))]);
        return spaced(fractionWords(num, den));
      },
    )
    // Degrees ("20°C", "20 °F", "90°", "1°"; NFKC makes "℃" "°C"): the number stays for the tokeniser.
    // Between "a" and a noun the degrees describe it, in the singular: "a 90° angle" → A NINETY DEGREE ANGLE.
    .replace(
      /(\b[Aa][Nn]?[^\S\r\n]+)?(?<![\d.,])(\d[\d,]*(?:\.\d+)?)[^\S\r\n]?°(?:[^\S\r\n]?([CF])|([cf]))?(?![\p{L}\d])(?=([^\S\r\n]+\p{L})?)/gu,
      (_m, article: string | undefined, n: string, upper: string | undefined, lower: string | undefined, noun: string | undefined) => {
        const scale = (upper ?? lower)?.toUpperCase();
        const one = n === '1' || (article !== undefined && noun !== undefined);
        return `${article ?? ''}${n} ${one ? 'degree' : 'degrees'}${scale === 'C' ? ' Celsius' : scale === 'F' ? ' Fahrenheit' : ''} `;
      },
    )
    // Round numbers in the plural are rough counts: "100s", "the 100s" → HUNDREDS, "1000s", "1,000s" →
    // THOUSANDS ("1000s of people", "in the 1000s"), "10,000s" → TENS OF THOUSANDS (roundPluralWords);
    // "the 500s" → FIVE HUNDREDS.
    .replace(
      /(?<![\d,.])\b(?:(THE\s+)([2-9]00)|(\d{1,3}(?:,\d{3})+|\d+))['\u2019]?S\b/gi,
      (m, the: string | undefined, hundreds: string | undefined, round: string | undefined) => {
        if (hundreds !== undefined) return `${the}${spaced([ONES[Number(hundreds[0])]!, 'HUNDREDS'])}`;
        const words = roundPluralWords(round!);
        return words ? spaced(words) : m;
      },
    )
    .replace(
      /(?:(['\u2018\u2019])(\d0)|\b(THE\s+)(\d0)|\b(1[0-9]\d0|20\d0))['\u2019]?S\b/gi,
      (_m, _q, quoted: string | undefined, the: string | undefined, afterThe: string | undefined, long: string | undefined) =>
        `${the ?? ''}${spaced(decadeWords(Number(quoted ?? afterThe ?? long)))}`,
    )
    // Any other number with a plural "s" is said in the plural, never as a number and a letter S: ages
    // ("in her 30s" → THIRTIES), dice and notes ("two 7s", "$20s" → TWENTIES: abbreviations.ts), "MP3s".
    // "30s" may mean seconds, but THIRTY S is no reading at all. Not after a decimal point ("3.5s").
    .replace(/(?<![\d,.])(\d{1,3}(?:,\d{3})+|\d+)['\u2019]?S\b/gi, (_m, n: string) => spaced(pluralNumberWords(numberWords(n))))
    .replace(/#\s?(?=\d)/g, ' NUMBER ')
    .replace(/(^|[\s(])[-\u2212](?=\d)/g, '$1 MINUS ');
}

/**
 * Phone numbers, read digit by digit ("555-1234" → FIVE FIVE FIVE ONE TWO THREE FOUR, not a range
 * or a year): a group of three digits, a hyphen and a group of four ("555-1234"), with an area code
 * before it in brackets or with a hyphen ("(555) 123-4567", "555-123-4567"); or a number after a
 * plus sign, in groups, of at least eight digits ("+1 555 123 4567" → PLUS ONE FIVE FIVE FIVE …,
 * "+44 (0)20 7946 0958": the "(0)" dialled only at home is not read). The digits come back apart
 * (the brackets and hyphens gone), so that no later rewrite reads them as a range, a year or an
 * amount, and no boundary is read inside. Not a number in a longer run of digits, hyphens, stops or
 * commas, after a currency or number sign, or before a per cent, degree or currency sign; and three
 * digits and four without an area code are the range they look like ("from 476-1453", "100-1000")
 * unless the words before say a number is dialled (PHONE_CUE: "call 555-1234", "phone number:
 * 555-1234"). A number with an area code may start with the North American trunk "1" ("1-800-555-1234",
 * "1 (800) 555-1234"), read ONE; an area code N00 (800 toll-free, 900 premium: service codes) is read
 * as its hundred, as Americans say "one eight hundred", "a nine hundred number" (areaCode). The
 * same ten digits in groups apart by spaces ("1 800 555 1234", "call 212 555 0100") are a number
 * when they fit the North American plan (area code and exchange not starting 0 or 1), stand apart
 * from other numbers, and a toll-free or premium area code or the words before (PHONE_CUE) say so:
 * "300 400 5000" alone is three numbers.
 * Runs after NFKC and before the dashes of ranges are marked.
 */
export function expandPhoneNumbers(text: string): string {
  const apart = (digits: string): string => ` ${[...digits.replace(/\D/g, '')].join(' ')} `;
  const plus = /\p{Ll}/u.test(text) ? 'plus' : 'PLUS'; // in the text's case: abbreviations.ts reads case
  const NOT_AFTER = String.raw`(?<![\p{L}\d_$£€#+.,\-\u2010\u2011\u2212\u2013\u2014/:])`;
  const NOT_BEFORE = String.raw`(?![\p{L}\d_%°$£€/\u2044]|[.,:\-\u2010\u2011\u2013]\d|['\u2019]s)`;
  // The trunk "1" only before a whole number with its area code: in "1 555-1234" the 1 is a count of its own.
  const TRUNK = String.raw`(?:(1)(?:[-\u2010\u2011][^\S\r\n]?|[^\S\r\n])?(?=\(\d{3}\)|\d{3}[-\u2010\u2011]\d{3}[-\u2010\u2011]\d{4}))?`;
  const local = new RegExp(
    String.raw`${NOT_AFTER}${TRUNK}(?:\((\d{3})\)[^\S\r\n]?|(\d{3})[-\u2010\u2011])?(\d{3})[-\u2010\u2011](\d{4})${NOT_BEFORE}`,
    'gu',
  );
  // Not inside a longer run of numbers apart by spaces ("700 800 900 1000", "21 800 555 1234").
  const inGroups = new RegExp(
    String.raw`${NOT_AFTER}(?<!\d[^\S\r\n])(?:(1)[^\S\r\n])?([2-9]\d{2})[^\S\r\n]([2-9]\d{2})[^\S\r\n](\d{4})${NOT_BEFORE}(?![^\S\r\n]*\d)`,
    'gu',
  );
  const international = new RegExp(
    String.raw`${NOT_AFTER}\+(\d{1,3})((?:[ .\-]?\(\d{1,4}\)[ .\-]?\d{1,6}|[ .\-]\d{1,6}){1,5})${NOT_BEFORE}`,
    'gu',
  );
  return text
    .replace(international, (m, country: string, rest: string) => {
      const groups = rest.replace(/\(0\)/g, '').match(/\d+/g)!;
      const digits = country + groups.join('');
      if (digits.length < 8) return m;
      // "+1 800 555 1234": the same North American number as "1-800-555-1234", read the same.
      const northAmerican = country === '1' && digits.length === 11 && groups[0]!.length === 3;
      return northAmerican ? ` ${plus} 1${areaCode(groups[0]!)}${apart(groups.slice(1).join(''))}` : ` ${plus}${apart(digits)}`;
    })
    .replace(local, (m, trunk: string | undefined, bracketed: string | undefined, hyphened: string | undefined, exchange: string, line: string, offset: number, whole: string) => {
      const area = bracketed ?? hyphened;
      // Without an area code, three digits and four are a range ("from 476-1453", "150-1250 words")
      // unless the words before say a number is dialled ("call me at 555-1234", "phone: 555-1234").
      if (area === undefined && !PHONE_CUE.test(whole.slice(Math.max(0, offset - 40), offset))) return m;
      return `${trunk ? ' 1' : ''}${area === undefined ? '' : areaCode(area)}${apart(`${exchange}${line}`)}`;
    })
    .replace(inGroups, (m, trunk: string | undefined, area: string, exchange: string, line: string, offset: number, whole: string) => {
      // A trunk "1" alone says little here ("population 1 200 300 4000"), nor a toll-free code
      // before round numbers ("800 900 1000").
      const round = /00$/.test(exchange) || /000$/.test(line);
      const said = (TOLL_FREE_OR_PREMIUM.test(area) && !round) || PHONE_CUE.test(whole.slice(Math.max(0, offset - 40), offset));
      return said ? `${trunk ? ' 1' : ''}${areaCode(area)}${apart(`${exchange}${line}`)}` : m;
    });
}

/**
 * A North American area code's digits, apart, or kept whole where it is a service code N00 (800
 * toll-free, 900 premium), which is said as its hundred ("one eight hundred"); the other toll-free
 * codes are said digit by digit ("eight eight eight"), as geographic ones are.
 */
function areaCode(area: string): string {
  return /^[2-9]00$/.test(area) ? ` ${area} ` : ` ${[...area].join(' ')} `;
}

/** Area codes that say a number is dialled by themselves: toll-free (800, 833 … 888) and premium (900). */
const TOLL_FREE_OR_PREMIUM = /^(?:8(?:00|33|44|55|66|77|88)|900)$/;

/** Words just before a bare "555-1234" that make it a phone number (up to two words between: "call me at"). */
const PHONE_CUE = /\b(?:call|calls|called|calling|phone|phoned|telephone|tel|dial|dialled|dialed|fax|text|texted|ring|mobile|cell|number|no)\b[^\p{L}\d]{0,3}(?:\p{L}+[^\p{L}\d]{1,3}){0,2}$/iu;

/** A number as an equation writes it: an amount or a percentage ("$10", "50%", "1,000", "2.5"). */
const EQ_NUMBER = String.raw`[$£€]?\d+(?:[.,]\d+)*%?`;
/**
 * A term of an equation: a number, with a one-letter variable after it ("2x", not "2nd" or "5km"),
 * or a one-letter variable alone ("y"). Letters count only in a chain with an "=" (expandArithmetic).
 */
const EQ_TERM = String.raw`(?:${EQ_NUMBER}(?:\p{L}(?!\p{L}))?|(?<!\p{L})\p{L}(?![\p{L}\d]))`;
/** Signs between the numbers of an equation: "=" itself, the arithmetic signs, and the look-alikes
 * written for them (a hyphen or en dash for minus, x or * for times, a slash for divided by). */
const EQ_SIGN = String.raw`[-+=×÷*/xX\u2212\u2013]`;
const GAP = String.raw`[^\S\r\n]*`;
/** Numbers joined by signs, on one line; not part of a word, a time or a longer number. */
const NUMBER_CHAIN = new RegExp(
  String.raw`(?<![\p{L}\d_.,:])${EQ_NUMBER}(?:${GAP}${EQ_SIGN}${GAP}${EQ_NUMBER})+(?![\p{L}\d_:])`,
  'gu',
);
/** Terms joined by signs with an "=" among them: an equation with variables ("y = 2x - 3"). */
const TERM_EQUATION = new RegExp(
  String.raw`(?<![\p{L}\d_.,:])${EQ_TERM}(?:${GAP}${EQ_SIGN}${GAP}${EQ_TERM})*${GAP}=${GAP}${EQ_TERM}(?:${GAP}${EQ_SIGN}${GAP}${EQ_TERM})*(?![\p{L}\d_:])`,
  'gu',
);
const CHAIN_SIGN = new RegExp(String.raw`(${EQ_TERM})(${GAP})(${EQ_SIGN})(${GAP})(?=(${EQ_TERM}))`, 'gu');
/**
 * Numbers joined by x or ×, maybe with + and * too (not "=": no equation), and not a hex code
 * ("0x1F"): a product or a size (readTimes).
 */
const TIMES_CHAIN = new RegExp(String.raw`^(?!0[xX])${EQ_NUMBER}(?:${GAP}[-+xX×*]${GAP}${EQ_NUMBER})*$`, 'u');
/**
 * A length unit after a product's last number: it is a size ("2.5 x 3.5 m", "4 x 6 inches", `4 x 6"`).
 * "in" only at the end of a clause ("2 x 2 in", not "3 x 4 in your head"); a mark of inches or feet
 * only close (INCHES_AFTER).
 */
const LENGTH_AFTER = /^(?:[^\S\r\n]*(?:mm|cm|m|km|inch(?:es)?|ft|foot|feet|yds?|yards?|(?:centi|milli|kilo)?met(?:re|er)s?|px|pixels?)\b|[^\S\r\n]*in\b(?=[^\S\r\n]*(?:$|[.,;:!?)])))/iu;
/** Inches or feet marked right after the last number (`4 x 6"`, `8 x 10′`), unless the mark closes a quotation (inchesMarked). */
const INCHES_AFTER = /^(["\u2033'\u2032])(?!\p{L})/u;
/** An article right before a product's first number: a size used as a noun's modifier ("a 3 x 4 room", "the 2 x 4"). */
const ARTICLE_BEFORE = /(?:^|[^\p{L}])(?:a|an|the)[^\S\r\n]+$/iu;

/** A sign in an equation as the symbol that tokens read (reference.ts): − MINUS, × TIMES, ÷ DIVIDED BY. */
function equationSign(sign: string, before: string, after: string): string {
  if (sign === '-' || sign === '\u2013') return '\u2212';
  if (/^[xX*]$/.test(sign)) return '×';
  // "1/2 + 1/4 = 3/4" is said in fractions (ONE HALF PLUS …); "10/2 = 5" is a division.
  if (sign === '/') return isSimpleFraction(before, after) ? '/' : '÷';
  return sign;
}

/**
 * Arithmetic read as it is said. The signs "+", "=", "×", "÷" and "−" are words wherever they stand
 * (reference.ts TOKEN: PLUS, EQUALS, TIMES, DIVIDED BY, MINUS), so "2+2" is TWO PLUS TWO, "+5" PLUS
 * FIVE, "C++" C PLUS PLUS, "A+" A PLUS. The look-alikes mean a sign only in an equation, numbers
 * joined by signs with an "=" among them or right beside them: there "10 - 3 = 7" is TEN MINUS THREE
 * EQUALS SEVEN (elsewhere "10 - 20" is a range), "3 x 4 = 12" THREE TIMES FOUR (elsewhere the
 * letter, a size or a hex code), "10/2 = 5" TEN DIVIDED BY TWO (elsewhere a date or "24/7"). An
 * equation may have one-letter variables: "y = 2x - 3" is Y EQUALS TWO X MINUS THREE. Outside an
 * equation, numbers joined by x or × are a product, TIMES ("what is 3 x 4"), or a size, BY, where
 * they read as one ("a 3 x 4 room", "2.5 x 3.5 m", "1920×1080": readTimes).
 * A star between two numbers ("2 * 3") is a multiplication anywhere. Runs after phone numbers are
 * read and before the dashes of ranges are marked.
 */
export function expandArithmetic(text: string): string {
  const by = /\p{Ll}/u.test(text) ? 'by' : 'BY'; // in the text's case: abbreviations.ts reads case
  return text
    .replace(TERM_EQUATION, readSigns)
    .replace(NUMBER_CHAIN, (chain: string, offset: number, whole: string) => {
      const before = whole.slice(0, offset);
      const after = whole.slice(offset + chain.length);
      if (chain.includes('=') || /=[^\S\r\n]*$/.test(before) || /^[^\S\r\n]*=/.test(after)) return readSigns(chain);
      return /[xX×]/.test(chain) && TIMES_CHAIN.test(chain) ? readTimes(chain, before, after, by) : chain;
    })
    .replace(/(\d)[^\S\r\n]*\*[^\S\r\n]*(?=\d)/g, '$1 × ');
}

/** A mark of inches or feet after a product, not the end of a quotation it stands in ("What is 3 x 4"). */
function inchesMarked(before: string, after: string): boolean {
  const mark = INCHES_AFTER.exec(after)?.[1];
  if (!mark) return false;
  // A quotation opened before and not closed: an odd count of its marks (a ' only where it opens a word, not an apostrophe).
  const opened = mark === '"' ? (before.match(/"/g) ?? []).length : mark === "'" ? (before.match(/(?:^|[^\p{L}\d])'(?=\S|$)|(?<=\S)'(?![\p{L}\d])/gu) ?? []).length : 0;
  return opened % 2 === 0;
}

/**
 * Numbers joined by x or × outside an equation: a size, BY, where it reads as one (only x or × as
 * signs, and a length unit after, an article before, or numbers of three digits or more written
 * close: "1920x1080"); otherwise a product, TIMES ("what is 3 x 4", "3×4", "3 x 4 + 2"). A dash in
 * the chain keeps it as it was: a range ("3 x 4 - 5 x 6").
 */
function readTimes(chain: string, before: string, after: string, by: string): string {
  if (/[-]/.test(chain.replace(/^-/, ''))) return chain;
  const onlyTimes = !/[-+*]/.test(chain);
  const close = !/\s/.test(chain) && chain.split(/[xX×]/).every((n) => n.replace(/\D/g, '').length >= 3);
  const size = onlyTimes && (close || LENGTH_AFTER.test(after) || inchesMarked(before, after) || ARTICLE_BEFORE.test(before));
  return chain.replace(/[^\S\r\n]*[xX×][^\S\r\n]*/g, size ? ` ${by} ` : ' × ');
}

/** The signs of an equation as the symbols that tokens read (equationSign). */
function readSigns(chain: string): string {
  // Two slashes in a row are a date ("1/2/2020 = …"), read as dates are (numberWords), not divided.
  const date = /\d\/\d+\/\d/.test(chain);
  return chain.replace(CHAIN_SIGN, (_m, before: string, gap1: string, sign: string, gap2: string, after: string) =>
    `${before}${gap1}${sign === '/' && date ? sign : equationSign(sign, before, after)}${gap2}`);
}
