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

/** Largest integer spelled as a cardinal; longer digit strings are read digit by digit. */
export const MAX_CARDINAL = 999_999;

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

/** 0 ≤ n ≤ MAX_CARDINAL: "TWO", "TWENTY ONE", "ONE HUNDRED AND FIVE", "TWO THOUSAND AND TWENTY". */
export function cardinalWords(n: number): string[] {
  if (!Number.isInteger(n) || n < 0 || n > MAX_CARDINAL) throw new RangeError(`cardinalWords: ${n}`);
  if (n < 1000) return below1000(n);
  const th = Math.floor(n / 1000);
  const r = n % 1000;
  const out = [...below1000(th), 'THOUSAND'];
  if (r === 0) return out;
  if (r < 100) out.push('AND');
  out.push(...below1000(r).filter((w, i) => !(i === 0 && w === 'AND')));
  return out;
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
  const ord = /^(\d{1,6})(ST|ND|RD|TH)$/.exec(t);
  if (ord) {
    const n = Number(ord[1]);
    if (ord[1]!.length === 1 || !ord[1]!.startsWith('0')) return n === 0 ? ['ZEROTH'] : ordinalWords(n);
  }
  const m = /^(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?$/.exec(t);
  if (!m) return digitWords(t);
  const intPart = m[1]!.replace(/,/g, '');
  const intWords =
    (intPart.length > 1 && intPart.startsWith('0')) || Number(intPart) > MAX_CARDINAL
      ? digitWords(intPart)
      : cardinalWords(Number(intPart));
  return m[2] === undefined ? intWords : [...intWords, 'POINT', ...digitWords(m[2])];
}
