/** The READ_WRONG_TEXT outcome (src/assessment/wrong-text.ts) and its rationale. */
import { applyContentMatch, WRONG_TEXT_TOTAL_CAP } from '../../src/assessment/wrong-text.js';
import { checkRationale } from '../../src/rationale/check.js';
import { generateWrongTextRationale } from '../../src/rationale/generate.js';
import type { AssessmentLabels } from '../../src/types.js';
import { randomLabels } from '../rationale/random-labels.js';

const labels = (): AssessmentLabels => ({
  sentence: { accuracy: 7, fluency: 8, prosody: 7, completeness: 9, total: 7 },
  words: [{ text: 'BEAR', accuracy: 6, stress: 10, total: 6, phonemes: [{ symbol: 'B', accuracy: 1.2 }, { symbol: 'EH1', accuracy: 2 }, { symbol: 'R', accuracy: 1.8 }] }],
  continuous: { sentence: { accuracy: 7.2, fluency: 8.1, prosody: 6.9, completeness: 9.4, total: 7.3 }, words: [{ accuracy: 6.2, total: 6.1 }] },
});

describe('applyContentMatch', () => {
  test('below the threshold: READ_WRONG_TEXT, completeness 0 and the total capped, integer and continuous', () => {
    const out = applyContentMatch(labels(), { score: 0.031234, threshold: 0.1 });
    expect(out.flags).toEqual(['READ_WRONG_TEXT']);
    expect(out.contentMatch).toBe(0.0312);
    expect(out.labels.sentence).toEqual({ accuracy: 7, fluency: 8, prosody: 7, completeness: 0, total: WRONG_TEXT_TOTAL_CAP });
    expect(out.labels.continuous!.sentence).toMatchObject({ completeness: 0, total: WRONG_TEXT_TOTAL_CAP, accuracy: 7.2 });
    // the word and phoneme rows stay as the model aligned them
    expect(out.labels.words).toEqual(labels().words);
  });

  test('a total already under the cap is kept', () => {
    const l = labels();
    l.sentence.total = 1;
    expect(applyContentMatch(l, { score: 0, threshold: 0.1 }).labels.sentence.total).toBe(1);
  });

  test('at or above the threshold, or without a content match, the labels pass unchanged and unflagged', () => {
    for (const content of [{ score: 0.1, threshold: 0.1 }, { score: 0.97, threshold: 0.1 }]) {
      const out = applyContentMatch(labels(), content);
      expect(out.flags).toEqual([]);
      expect(out.labels).toEqual(labels());
      expect(out.contentMatch).toBe(content.score);
    }
    expect(applyContentMatch(labels(), null)).toEqual({ labels: labels(), contentMatch: null, flags: [] });
  });
});

describe('generateWrongTextRationale', () => {
  test('tells the learner the recording is not the sentence and to read it again', () => {
    const { labels: l } = applyContentMatch(labels(), { score: 0, threshold: 0.1 });
    const text = generateWrongTextRationale(l);
    expect(text).toMatch(/does not match the sentence you were asked to read/);
    expect(text).toMatch(/starting with the word "BEAR"/);
    expect(text).not.toMatch(/accurate|fluent|natural/i);
  });

  test('passes the rationale checks for 3000 random label sets once the outcome is applied', () => {
    for (let seed = 1; seed <= 3000; seed++) {
      const { labels: l } = applyContentMatch(randomLabels(seed), { score: 0, threshold: 0.1 });
      if (l.words.length === 0) continue; // nothing to name: NO_TOKEN_REFERENCES, as for every rationale
      const text = generateWrongTextRationale(l);
      const check = checkRationale(text, l);
      if (check.flags.length) throw new Error(`seed ${seed}: ${check.flags.join(',')}\n${text}`);
      if (check.words.precision !== null) expect(check.words.precision).toBe(1);
    }
  });
});
