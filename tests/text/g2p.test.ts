import { letterToSound } from '../../src/text/g2p.js';
import { PHONES, isVowel, stripStress } from '../../src/text/phones.js';

const PHONE_SET = new Set<string>(PHONES);

function expectValid(phones: string[]): void {
  expect(phones.length).toBeGreaterThanOrEqual(1);
  for (const p of phones) {
    expect(PHONE_SET.has(stripStress(p))).toBe(true);
    if (isVowel(p)) expect(p).toMatch(/^[A-Z]+[01]$/);
    else expect(p).toMatch(/^[A-Z]+$/);
  }
  const stressed = phones.filter((p) => p.endsWith('1'));
  if (phones.some(isVowel)) {
    expect(stressed).toHaveLength(1);
    expect(phones.find(isVowel)).toBe(stressed[0]);
  }
}

describe('letterToSound', () => {
  test('ZORBLAX', () => {
    const phones = letterToSound('ZORBLAX');
    expectValid(phones);
    expect(phones).toEqual(['Z', 'AO1', 'R', 'B', 'L', 'AE0', 'K', 'S']);
  });

  test.each([
    ['SHIP', 'SH IH1 P'],
    ['THING', 'TH IH1 NG'],
    ['CHOP', 'CH AA1 P'],
    ['PHONE', 'F OW1 N'],
    ['BACK', 'B AE1 K'],
    ['SEED', 'S IY1 D'],
    ['MOON', 'M UW1 N'],
    ['MAKE', 'M EY1 K'],
    ['HOPPED', 'HH AA1 P D'],
    ['BOXES', 'B AA1 K S IH0 Z'],
    ['CITY', 'S IH1 T IY0'],
    ['KNIGHT', 'N AY1 T'],
    ['NATION', 'N AE1 SH AH0 N'],
  ])('%s → %s', (word, phones) => {
    expect(letterToSound(word).join(' ')).toBe(phones);
  });

  test('single letters and vowel-less words are spelled', () => {
    expect(letterToSound('B')).toEqual(['B', 'IY1']);
    expect(letterToSound('NBC')).toEqual(['EH1', 'N', 'B', 'IY0', 'S', 'IY0']);
  });

  test('no letters gives [], odd input never throws', () => {
    expect(letterToSound('')).toEqual([]);
    expect(letterToSound("'-1")).toEqual([]);
    expectValid(letterToSound("o'neill-ÉCLAIR"));
  });

  test('never throws and always yields valid phones for random letter strings', () => {
    let seed = 42;
    const rand = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const letters = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
    for (let n = 0; n < 3000; n++) {
      const len = 1 + Math.floor(rand() * 14);
      let w = '';
      for (let k = 0; k < len; k++) w += letters[Math.floor(rand() * 26)];
      expectValid(letterToSound(w));
    }
  });
});
