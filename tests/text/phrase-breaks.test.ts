/**
 * Phrase boundaries of reference texts (src/text/reference.ts phraseBreaksBefore) around
 * abbreviations read out and the dashes of ranges, checked on the pure functions: "|" marks a
 * boundary before a word. The words each text normalises to are checked too, so a boundary fix
 * cannot quietly change what the reader is scored on.
 */
import { normalizeReferenceText, phraseBreaksBefore } from '../../src/text/reference.js';

const marked = (text: string): string => {
  const breaks = phraseBreaksBefore(text);
  const words = normalizeReferenceText(text);
  expect(breaks).toHaveLength(words.length);
  return words.map((w, i) => (breaks[i] ? `| ${w}` : w)).join(' ');
};

describe("an abbreviation's full stop before a number or a symbol continues the sentence", () => {
  test.each([
    ['We met on Dec. 5 in Rome.', 'WE MET ON DECEMBER FIVE IN ROME'],
    // The comma after 31 is a boundary of its own; the stop of "Oct." is not.
    ['It was Oct. 31, 2020.', 'IT WAS OCTOBER THIRTY ONE | TWO THOUSAND AND TWENTY'],
    ['Mr. & Mrs. Smith', 'MISTER AND MISSUS SMITH'],
    ['It costs approx. $5 now', 'IT COSTS APPROXIMATELY FIVE DOLLARS NOW'],
    ['Team A vs. 3 others', 'TEAM A VERSUS THREE OTHERS'],
    ['Due Feb. #2 or Sept. £10', 'DUE FEBRUARY NUMBER TWO OR SEPTEMBER TEN POUNDS'],
    ['DEC. 5 IN ROME', 'DECEMBER FIVE IN ROME'],
    ['we met dec. 5 in rome', 'WE MET DECEMBER FIVE IN ROME'],
  ])('%j → %s', (text, expected) => {
    expect(marked(text)).toBe(expected);
  });

  test.each([
    // A sentence that starts after the stop still makes it a boundary; so does a bracket or a dash.
    ['He lives on Elm St. It is quiet', 'HE LIVES ON ELM STREET | IT IS QUIET'],
    ['Apples, pears etc. Then we left', 'APPLES | PEARS ET CETERA | THEN WE LEFT'],
    ['Acme Inc. (the firm) paid', 'ACME INCORPORATED | THE FIRM | PAID'],
    // A name after a title, and the end of the text, are as before.
    ['Dr. Smith met Prof. Green on Baker St.', 'DOCTOR SMITH MET PROFESSOR GREEN ON BAKER STREET'],
    ['Take vitamin C. Then rest', 'TAKE VITAMIN C | THEN REST'],
    // The next word after closing quotes or brackets: the sentence still starts there.
    ['They bought apples, pears, etc.” Then they left.', 'THEY BOUGHT APPLES | PEARS | ET CETERA | THEN THEY LEFT'],
    ['They bought pears etc.»  Then they left.', 'THEY BOUGHT PEARS ET CETERA | THEN THEY LEFT'],
    ["Pears etc.' Then we left", 'PEARS ET CETERA | THEN WE LEFT'],
  ])('%j → %s', (text, expected) => {
    expect(marked(text)).toBe(expected);
  });

  test('the stop at the end of the text still ends the sentence (no boundary: no word follows)', () => {
    expect(marked('Apples, pears etc.')).toBe('APPLES | PEARS ET CETERA');
    expect(marked('She said “see you, etc.”')).toBe('SHE SAID SEE YOU | ET CETERA');
    expect(marked('We live on Elm St.  ')).toBe('WE LIVE ON ELM STREET');
  });
});

describe('the dash of a range between numeric expressions is no boundary, however the numbers are read', () => {
  test.each([
    ['It costs $5–$10 a day.', 'IT COSTS FIVE DOLLARS TEN DOLLARS A DAY'],
    ['It costs $5-$10 or £5 — £10', 'IT COSTS FIVE DOLLARS TEN DOLLARS OR FIVE POUNDS TEN POUNDS'],
    ['5€–10€', 'FIVE EUROS TEN EUROS'],
    ['Open 9:00–17:00', "OPEN NINE O'CLOCK SEVENTEEN HUNDRED"],
    ['9:00-17:00', "NINE O'CLOCK SEVENTEEN HUNDRED"],
    ['10:30 - 11:45', 'TEN THIRTY ELEVEN FORTY FIVE'],
    ['50%–60%', 'FIFTY PERCENT SIXTY PERCENT'],
    ['50% - 60%', 'FIFTY PERCENT SIXTY PERCENT'],
    ['1980s–1990s', 'NINETEEN EIGHTIES NINETEEN NINETIES'],
    ['1990s-2000s', 'NINETEEN NINETIES TWO THOUSANDS'],
    ["the '80s–'90s", 'THE EIGHTIES NINETIES'],
    ['1/2–3/4', 'ONE HALF THREE QUARTERS'],
    ['½ – ¾', 'ONE HALF THREE QUARTERS'],
    ['#1–#3', 'NUMBER ONE NUMBER THREE'],
    ['1st - 3rd', 'FIRST THIRD'],
    ['10 - 20', 'TEN TWENTY'],
    ['10 -- 20', 'TEN TWENTY'],
    ['1990 — 2000', 'NINETEEN NINETY TWO THOUSAND'],
    ['From 1990–2000 – then\nIt was', 'FROM NINETEEN NINETY TWO THOUSAND | THEN | IT WAS'],
    // A range a hyphen joins straight after an amount or a fraction: before the range was marked,
    // the hyphen read as MINUS ("FIVE DOLLARS MINUS TEN"). A text stored then keeps its old words,
    // so its break feedback is null (src/assessment/breaks.ts storedPhraseBreaks).
    ['It costs $5-10.', 'IT COSTS FIVE DOLLARS TEN'],
    ['Use 1½-2 cups.', 'USE ONE AND A HALF TWO CUPS'],
  ])('%j → %s', (text, expected) => {
    expect(marked(text)).toBe(expected);
  });

  test.each([
    // A dash with a word on either side is a boundary, spaced hyphens included.
    ['I came — I saw', 'I CAME | I SAW'],
    ['I am 5 - you are 6', 'I AM FIVE | YOU ARE SIX'],
    ['We paid $5 – then left', 'WE PAID FIVE DOLLARS | THEN LEFT'],
    // A hyphen after a space and right before a number is a minus sign, read as such.
    ['10 -20', 'TEN MINUS TWENTY'],
    // A line break is a boundary even where a dash of a range follows it.
    ['Wait 5\n- 6 more', 'WAIT FIVE | SIX MORE'],
  ])('%j → %s', (text, expected) => {
    expect(marked(text)).toBe(expected);
  });
});
