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

describe('amounts without a whole part, phone numbers, round plurals and degrees: the words a reader says, and the boundaries', () => {
  test.each([
    // No whole part is none at all, not a dropped currency.
    ['It costs $.99 today.', 'IT COSTS NINETY NINE CENTS TODAY'],
    ['$0.99, or £.50', 'NINETY NINE CENTS | OR FIFTY PENCE'],
    ['€0.05 and €.05', 'FIVE CENTS AND FIVE CENTS'],
    // A phone number is read digit by digit, with no boundary inside (the area code's brackets are no parenthesis).
    ['Call 555-1234. Then wait', 'CALL FIVE FIVE FIVE ONE TWO THREE FOUR | THEN WAIT'],
    ['Call me (555) 123-4567 now', 'CALL ME FIVE FIVE FIVE ONE TWO THREE FOUR FIVE SIX SEVEN NOW'],
    ['(555)123-4567 or 555-123-4567', 'FIVE FIVE FIVE ONE TWO THREE FOUR FIVE SIX SEVEN OR FIVE FIVE FIVE ONE TWO THREE FOUR FIVE SIX SEVEN'],
    ['Dial +1 555 123 4567, please', 'DIAL PLUS ONE FIVE FIVE FIVE ONE TWO THREE FOUR FIVE SIX SEVEN | PLEASE'],
    ['+44 (0)20 7946 0958', 'PLUS FOUR FOUR TWO ZERO SEVEN NINE FOUR SIX ZERO NINE FIVE EIGHT'],
    ['CALL 555-1234 DR. SMITH', 'CALL FIVE FIVE FIVE ONE TWO THREE FOUR DOCTOR SMITH'],
    // Ranges stay ranges: only three digits, a hyphen and four digits (or the bracketed and plus forms) make a phone number.
    ['1990-2000', 'NINETEEN NINETY TWO THOUSAND'],
    ['10-20 or pages 5-10', 'TEN TWENTY OR PAGES FIVE TEN'],
    ['from 100-1000 people', 'FROM ONE HUNDRED ONE THOUSAND PEOPLE'],
    ['800-1200 calories', 'EIGHT HUNDRED TWELVE HUNDRED CALORIES'],
    // Three digits and four with no area code and no word of dialling before them: a range of years or counts.
    ['from 476-1453', 'FROM FOUR HUNDRED AND SEVENTY SIX FOURTEEN FIFTY THREE'],
    ['between 150-1250 words', 'BETWEEN ONE HUNDRED AND FIFTY TWELVE FIFTY WORDS'],
    ['Call me at 555-1234', 'CALL ME AT FIVE FIVE FIVE ONE TWO THREE FOUR'],
    ['My phone number is 555-1234', 'MY PHONE NUMBER IS FIVE FIVE FIVE ONE TWO THREE FOUR'],
    ['$555-1234', 'FIVE HUNDRED AND FIFTY FIVE DOLLARS TWELVE THIRTY FOUR'],
    ['555–1234', 'FIVE HUNDRED AND FIFTY FIVE TWELVE THIRTY FOUR'],
    ['555-1234-5678', 'FIVE HUNDRED AND FIFTY FIVE TWELVE THIRTY FOUR FIVE THOUSAND SIX HUNDRED AND SEVENTY EIGHT'],
    ['2+2 and +5 points', 'TWO PLUS TWO AND PLUS FIVE POINTS'],
    // Round hundreds and thousands in the plural.
    ['in the 1000s, 1000s of people', 'IN THE THOUSANDS | THOUSANDS OF PEOPLE'],
    ['1,000s and 100s', 'THOUSANDS AND HUNDREDS'],
    ['the 100s, the 500s, the 1900s, the 1100s', 'THE HUNDREDS | THE FIVE HUNDREDS | THE NINETEEN HUNDREDS | THE ELEVEN HUNDREDS'],
    // Degrees, with the scale when it is given; one degree in the singular.
    ['It is 20°C, or 68 °F.', 'IT IS TWENTY DEGREES CELSIUS | OR SIXTY EIGHT DEGREES FAHRENHEIT'],
    ['Turn 90°, then 1° more', 'TURN NINETY DEGREES | THEN ONE DEGREE MORE'],
    ['-5°C or 1.5° or 20 ℃', 'MINUS FIVE DEGREES CELSIUS OR ONE POINT FIVE DEGREES OR TWENTY DEGREES CELSIUS'],
    // Between "a" and a noun, the singular: a ninety-degree angle.
    ['a 90° angle, an 80°F day, a 20°C', 'A NINETY DEGREE ANGLE | AN EIGHTY DEGREE FAHRENHEIT DAY | A TWENTY DEGREES CELSIUS'],
    ['It rose 20° overnight to 30° Celsius', 'IT ROSE TWENTY DEGREES OVERNIGHT TO THIRTY DEGREES CELSIUS'],
    // A range of degrees: its dash is no boundary.
    ['20°C–25°C', 'TWENTY DEGREES CELSIUS TWENTY FIVE DEGREES CELSIUS'],
    ['20° – 25°', 'TWENTY DEGREES TWENTY FIVE DEGREES'],
  ])('%j → %s', (text, expected) => {
    expect(marked(text)).toBe(expected);
  });
});

describe('a run of initials is one name, "I" included; a lone "I." is the pronoun ending its sentence', () => {
  test.each([
    ['I. M. Pei designed it', 'I M PEI DESIGNED IT'],
    ['J. I. Smith and J. A. Smith', 'J I SMITH AND J A SMITH'],
    ['I. A. Richards wrote', 'I A RICHARDS WROTE'],
    ['J. R. R. Tolkien wrote', 'J R R TOLKIEN WROTE'],
    ['Pei, I. M.', 'PEI | I M'],
    ['U.S. Army', 'U S ARMY'],
    ['I. Then I left', 'I | THEN I LEFT'],
    ['It was I. Mary left', 'IT WAS I | MARY LEFT'],
    ['It was I. I left.', 'IT WAS I | I LEFT'],
    ['He said I. A new day', 'HE SAID I | A NEW DAY'],
    ['Answer B. I think so', 'ANSWER B | I THINK SO'],
    ['Take vitamin C. Then rest', 'TAKE VITAMIN C | THEN REST'],
  ])('%j → %s', (text, expected) => {
    expect(marked(text)).toBe(expected);
  });
});
