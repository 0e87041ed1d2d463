/**
 * North American phone numbers with a trunk "1" or a service area code, arithmetic signs, and
 * numbers in the plural (amounts of money included): the words a reader says, and the phrase
 * boundaries (src/text/reference.ts phraseBreaksBefore), checked on the pure functions. "|" marks
 * a boundary before a word.
 */
import { normalizeReferenceText, phraseBreaksBefore } from '../../src/text/reference.js';

const marked = (text: string): string => {
  const breaks = phraseBreaksBefore(text);
  const words = normalizeReferenceText(text);
  expect(breaks).toHaveLength(words.length);
  return words.map((w, i) => (breaks[i] ? `| ${w}` : w)).join(' ');
};

const TOLL_FREE = 'ONE EIGHT HUNDRED FIVE FIVE FIVE ONE TWO THREE FOUR';

describe('North American numbers: the trunk "1" is read ONE, an N00 service code as its hundred ("one eight hundred")', () => {
  test.each([
    ['1-800-555-1234', TOLL_FREE],
    ['Call 1-800-555-1234 today.', `CALL ${TOLL_FREE} TODAY`],
    ['1 (800) 555-1234', TOLL_FREE],
    ['1(800)555-1234', TOLL_FREE],
    ['1 800-555-1234', TOLL_FREE],
    ['+1 800 555 1234', `PLUS ${TOLL_FREE}`],
    ['+1 (800) 555-1234', `PLUS ${TOLL_FREE}`],
    // The area code alone, without the trunk "1": still "eight hundred", "nine hundred".
    ['800-555-1234', 'EIGHT HUNDRED FIVE FIVE FIVE ONE TWO THREE FOUR'],
    ['(900) 555-1234', 'NINE HUNDRED FIVE FIVE FIVE ONE TWO THREE FOUR'],
    // Other toll-free and geographic codes are said digit by digit, as every other group is.
    ['1-888-555-1234', 'ONE EIGHT EIGHT EIGHT FIVE FIVE FIVE ONE TWO THREE FOUR'],
    ['1-212-555-0100', 'ONE TWO ONE TWO FIVE FIVE FIVE ZERO ONE ZERO ZERO'],
    ['+1 212 555 0100', 'PLUS ONE TWO ONE TWO FIVE FIVE FIVE ZERO ONE ZERO ZERO'],
    // A country other than 1 has no such code: "+44 800" is digit by digit.
    ['+44 800 123 4567', 'PLUS FOUR FOUR EIGHT ZERO ZERO ONE TWO THREE FOUR FIVE SIX SEVEN'],
    // A phone number keeps its boundaries outside and none inside; a vanity number reads its word.
    ['Dial 1-800-555-1234, then wait', `DIAL ${TOLL_FREE} | THEN WAIT`],
    ['Call 1-800-FLOWERS now', 'CALL ONE EIGHT HUNDRED FLOWERS NOW'],
    // The groups apart by spaces: a number when the trunk, a toll-free code or the words before say so.
    ['Call 1 800 555 1234 now', `CALL ${TOLL_FREE} NOW`],
    ['800 555 1234', 'EIGHT HUNDRED FIVE FIVE FIVE ONE TWO THREE FOUR'],
    ['Phone 888 555 1234', 'PHONE EIGHT EIGHT EIGHT FIVE FIVE FIVE ONE TWO THREE FOUR'],
    ['call 212 555 0100', 'CALL TWO ONE TWO FIVE FIVE FIVE ZERO ONE ZERO ZERO'],
    ['300 400 5000', 'THREE HUNDRED FOUR HUNDRED FIVE THOUSAND'],
    ['Population 1 200 300 4000', 'POPULATION ONE TWO HUNDRED THREE HUNDRED FOUR THOUSAND'],
    ['Read the numbers 800 900 1000', 'READ THE NUMBERS EIGHT HUNDRED NINE HUNDRED ONE THOUSAND'],
    ['Count: 700 800 555 1234 5', 'COUNT | SEVEN HUNDRED EIGHT HUNDRED FIVE HUNDRED AND FIFTY FIVE TWELVE THIRTY FOUR FIVE'],
    ['21 800 555 1234', 'TWENTY ONE EIGHT HUNDRED FIVE HUNDRED AND FIFTY FIVE TWELVE THIRTY FOUR'],
    ['Scores: 212 555 0100', 'SCORES | TWO HUNDRED AND TWELVE FIVE HUNDRED AND FIFTY FIVE ZERO ONE ZERO ZERO'],
    // Not a trunk "1" inside a longer run of digits: the digits around it are left as they were.
    ['21-800-555-1234', 'TWENTY ONE EIGHT HUNDRED FIVE HUNDRED AND FIFTY FIVE TWELVE THIRTY FOUR'],
  ])('%j → %s', (text, expected) => {
    expect(marked(text)).toBe(expected);
  });
});

describe('arithmetic: + is PLUS and = EQUALS wherever they stand; in an equation a dash is MINUS', () => {
  test.each([
    ['2+2', 'TWO PLUS TWO'],
    ['2 + 2 = 4', 'TWO PLUS TWO EQUALS FOUR'],
    ['2+2=4', 'TWO PLUS TWO EQUALS FOUR'],
    ['10 - 3 = 7', 'TEN MINUS THREE EQUALS SEVEN'],
    ['10-3=7', 'TEN MINUS THREE EQUALS SEVEN'],
    ['7 = 10 – 3', 'SEVEN EQUALS TEN MINUS THREE'],
    ['10 − 3', 'TEN MINUS THREE'],
    ['3×4', 'THREE TIMES FOUR'],
    ['3 × 4 = 12', 'THREE TIMES FOUR EQUALS TWELVE'],
    ['3 x 4 = 12', 'THREE TIMES FOUR EQUALS TWELVE'],
    ['3x4=12', 'THREE TIMES FOUR EQUALS TWELVE'],
    ['2 * 3', 'TWO TIMES THREE'],
    ['6 ÷ 2 = 3', 'SIX DIVIDED BY TWO EQUALS THREE'],
    ['10/2 = 5', 'TEN DIVIDED BY TWO EQUALS FIVE'],
    // Simple fractions stay fractions in an equation.
    ['1/2 + 1/4 = 3/4', 'ONE HALF PLUS ONE QUARTER EQUALS THREE QUARTERS'],
    ['-5 + 3 = -2', 'MINUS FIVE PLUS THREE EQUALS MINUS TWO'],
    ['1,000 + 2.5 = 1,002.5', 'ONE THOUSAND PLUS TWO POINT FIVE EQUALS ONE THOUSAND AND TWO POINT FIVE'],
    // A letter x is times only between numbers of an equation; elsewhere it is the letter.
    ['x = 5 and 2x = 10', 'X EQUALS FIVE AND TWO X EQUALS TEN'],
    // One-letter variables in an equation: its dash is MINUS too.
    ['Solve y = 2x - 3', 'SOLVE Y EQUALS TWO X MINUS THREE'],
    ['a - b = c', 'A MINUS B EQUALS C'],
    ['10k - 5k = 5k', 'TEN K MINUS FIVE K EQUALS FIVE K'],
    ['He is 2nd - she is 3rd', 'HE IS SECOND | SHE IS THIRD'],
    ['Plan A - B', 'PLAN A | B'],
    // Outside an equation, x or × between numbers is a product (TIMES), or a size (BY) where it reads
    // as one: a length unit after, an article before, numbers of three digits or more written close.
    // A hex code stays letters and digits; in an equation it is always TIMES.
    ['What is 3 x 4?', 'WHAT IS THREE TIMES FOUR'],
    ['Take 2 x 500 mg', 'TAKE TWO TIMES FIVE HUNDRED MG'],
    ['a 3 x 4 room', 'A THREE BY FOUR ROOM'],
    ['a 2 x 4 x 8 board', 'A TWO BY FOUR BY EIGHT BOARD'],
    ['4 x 6 inches', 'FOUR BY SIX INCHES'],
    ['100x200 = 20000', 'ONE HUNDRED TIMES TWO HUNDRED EQUALS TWENTY THOUSAND'],
    ['work out 3 x 4 in your head', 'WORK OUT THREE TIMES FOUR IN YOUR HEAD'],
    ['in 2 x 2 in', 'IN TWO BY TWO IN'],
    ['He asked, "What is 3 x 4"', 'HE ASKED | WHAT IS THREE TIMES FOUR'],
    ["Type '3 x 4' here", 'TYPE THREE TIMES FOUR HERE'],
    ['Print it 4 x 6"', 'PRINT IT FOUR BY SIX'],
    ['0.5 x 2 m', 'ZERO POINT FIVE BY TWO M'],
    ['$10 x 3', 'TEN DOLLARS TIMES THREE'],
    ['3 x 4 + 2', 'THREE TIMES FOUR PLUS TWO'],
    ['0x10', 'ZERO X TEN'],
    ['It is 2.5 x 3.5 m', 'IT IS TWO POINT FIVE BY THREE POINT FIVE M'],
    ['The screen is 1920×1080', 'THE SCREEN IS NINETEEN TWENTY BY TEN EIGHTY'],
    ['1920x1080', 'NINETEEN TWENTY BY TEN EIGHTY'],
    ['0x1F', 'ZERO X ONE F'],
    // Outside an equation a dash between numbers is still a range, and a slash a date or a fraction.
    ['10 - 20 people', 'TEN TWENTY PEOPLE'],
    ['open 24/7', 'OPEN TWENTY FOUR SEVEN'],
    // A date in an equation is still a date, not two divisions.
    ['1/2/2020 = today', 'ONE TWO TWO THOUSAND AND TWENTY EQUALS TODAY'],
    // A sign before or after a number, and after letters: grades, languages, ages.
    ['+5 points', 'PLUS FIVE POINTS'],
    ['C++ and A+ grades', 'C PLUS PLUS AND A PLUS GRADES'],
    ['18+ only', 'EIGHTEEN PLUS ONLY'],
    // No boundary inside an equation; the punctuation around it still marks them.
    ['So 5 - 3 = 2, and 2+2=4.', 'SO FIVE MINUS THREE EQUALS TWO | AND TWO PLUS TWO EQUALS FOUR'],
    ['She got an A+. Then she left', 'SHE GOT AN A PLUS | THEN SHE LEFT'],
    ['I am 5 - you are 6 = 11', 'I AM FIVE | YOU ARE SIX EQUALS ELEVEN'],
  ])('%j → %s', (text, expected) => {
    expect(marked(text)).toBe(expected);
  });
});

describe('numbers in the plural: never a number and a letter S', () => {
  test.each([
    // Round amounts of money in the plural are a rough amount: hundreds of dollars.
    ['$100s', 'HUNDREDS OF DOLLARS'],
    ['It cost $1,000s.', 'IT COST THOUSANDS OF DOLLARS'],
    ['the $100s he saved', 'THE HUNDREDS OF DOLLARS HE SAVED'],
    ['£1000s and €100s', 'THOUSANDS OF POUNDS AND HUNDREDS OF EUROS'],
    ['$10,000s', 'TENS OF THOUSANDS OF DOLLARS'],
    // Other amounts are notes or a price range, said as the plural number: "a stack of twenties".
    ['a stack of $20s and $5s', 'A STACK OF TWENTIES AND FIVES'],
    ["£20's and €50s", 'TWENTIES AND FIFTIES'],
    ['homes in the $500s', 'HOMES IN THE FIVE HUNDREDS'],
    // Round counts: tens and hundreds of thousands.
    ['10,000s of people', 'TENS OF THOUSANDS OF PEOPLE'],
    ['100,000s and 1,000,000s', 'HUNDREDS OF THOUSANDS AND MILLIONS'],
    // Any other number with a plural S: ages, dice, cricket scores, files.
    ['in her 30s', 'IN HER THIRTIES'],
    ['two 7s, three 6s and 4s', 'TWO SEVENS | THREE SIXES AND FOURS'],
    ["a row of 5's", 'A ROW OF FIVES'],
    ['MP3s', 'MP THREES'],
    // Unchanged: decades, and a plural range's dash is no boundary.
    ['the 1990s and the 60s', 'THE NINETEEN NINETIES AND THE SIXTIES'],
    ['in his 20s–30s', 'IN HIS TWENTIES THIRTIES'],
    ['$20s–$50s', 'TWENTIES FIFTIES'],
    ['5s-7s', 'FIVES SEVENS'],
    // A unit after a number ("1st") and a decimal ("3.5s") are not plurals.
    ['the 1st and 2nd', 'THE FIRST AND SECOND'],
  ])('%j → %s', (text, expected) => {
    expect(marked(text)).toBe(expected);
  });
});
