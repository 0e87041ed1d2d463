/**
 * Calibrated hedges (src/rationale/README.md "Hedges"): accepted against the model's own
 * predictions exactly where the shipped calibration supports them, never a loophole.
 */
import { checkRationale } from '../../src/rationale/check.js';
import {
  defaultCalibration, parseRationaleCalibration, phonemeErrorProbability, RationaleCalibrationFormatError, wordErrorProbability,
} from '../../src/rationale/calibration.js';
import { generateRationale } from '../../src/rationale/generate.js';
import type { AssessmentLabels } from '../../src/types.js';

const c = defaultCalibration();

/** THINK predicted at `think` (continuous), labelled 8 or more; THREE clearly good. */
function labels(think: number, thPhone = 2): AssessmentLabels {
  return {
    sentence: { accuracy: 8, fluency: 8, prosody: 8, completeness: 10, total: 8 },
    words: [
      { text: 'THINK', accuracy: Math.round(think), stress: 10, total: Math.round(think), phonemes: [{ symbol: 'TH', accuracy: thPhone }, { symbol: 'IH1', accuracy: 2 }, { symbol: 'NG', accuracy: 2 }, { symbol: 'K', accuracy: 2 }] },
      { text: 'THREE', accuracy: 10, stress: 10, total: 10, phonemes: [{ symbol: 'TH', accuracy: 2 }, { symbol: 'R', accuracy: 2 }, { symbol: 'IY1', accuracy: 2 }] },
    ],
    continuous: { sentence: { accuracy: 8, fluency: 8, prosody: 8, completeness: 10, total: 8 }, words: [{ accuracy: think, total: think }, { accuracy: 9.9, total: 9.9 }] },
  };
}

/** The lowest prediction that still rounds to a good label (8), and whether it reaches the hedge. */
const HEDGE_ZONE = [7.5, 7.6, 7.7, 7.8, 7.9, 8.0, 8.2, 8.4].find((x) => wordErrorProbability(c, x) >= c.word.hedgeFrom);

test('the shipped calibration parses, and its error probabilities fall as the predicted score rises', () => {
  expect(c.word.hedgeFrom).toBeLessThanOrEqual(c.word.assertFrom);
  expect(wordErrorProbability(c, 3)).toBeGreaterThan(wordErrorProbability(c, 9.8));
  expect(phonemeErrorProbability(c, 0.3)).toBeGreaterThan(phonemeErrorProbability(c, 1.95));
  expect(() => parseRationaleCalibration({ version: 1, word: {}, phoneme: {}, sentence: {} })).toThrow(RationaleCalibrationFormatError);
});

test('a hedged critique of a word in the calibrated hedge zone is accepted against the model, not against a rater', () => {
  expect(HEDGE_ZONE).toBeDefined();
  const l = labels(HEDGE_ZONE!);
  expect(l.words[0]!.accuracy).toBeGreaterThanOrEqual(8);
  const text = '"THINK" was probably not quite clear.';
  expect(checkRationale(text, l).flags).not.toContain('UNSUPPORTED_WORD_CRITIQUE');
  // stated as a fact, the same critique is not supported by a label of 8
  expect(checkRationale('"THINK" was not quite clear.', l).flags).toContain('UNSUPPORTED_WORD_CRITIQUE');
  // a rater's labels carry no predictions: the hedge is judged as a plain critique
  const { continuous: _omit, ...rater } = l;
  expect(checkRationale(text, rater).flags).toContain('UNSUPPORTED_WORD_CRITIQUE');
});

test('a hedge on a word the model is confident is right is still an unsupported critique', () => {
  const l = labels(9.9);
  expect(wordErrorProbability(c, 9.9)).toBeLessThan(c.word.hedgeFrom);
  expect(checkRationale('"THINK" was probably not quite clear.', l).flags).toContain('UNSUPPORTED_WORD_CRITIQUE');
  expect(checkRationale('The /θ/ sound was probably not quite right in "THREE".', l).flags).toContain('UNSUPPORTED_PHONEME_CRITIQUE');
});

test('the writer hedges a word in the hedge zone, asserts a labelled error, and leaves a confident good word out', () => {
  const hedged = generateRationale(labels(HEDGE_ZONE!));
  expect(hedged).toMatch(/"THINK" (was probably|may not have been) not quite clear|"THINK" may not have been quite clear/);
  expect(checkRationale(hedged, labels(HEDGE_ZONE!)).flags).toEqual([]);
  const sure = labels(3.2, 0.2);
  const text = generateRationale(sure);
  expect(text).toMatch(/"THINK" came out unclear/);
  expect(text).toContain('The /θ/ sound (as in bath) was unclear in "THINK"');
  expect(text).not.toContain('"THREE"');
  expect(checkRationale(text, sure).flags).toEqual([]);
});
