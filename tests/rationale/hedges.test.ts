/**
 * Calibrated hedges (src/rationale/README.md "Hedges"): accepted against the model's own
 * predictions exactly where the calibration supports them, never a loophole.
 */
import { readFileSync } from 'node:fs';
import { checkRationale } from '../../src/rationale/check.js';
import {
  defaultCalibration, parseRationaleCalibration, phonemeErrorProbability, RationaleCalibrationFormatError, wordErrorProbability,
} from '../../src/rationale/calibration.js';
import { generateRationale } from '../../src/rationale/generate.js';
import type { AssessmentLabels } from '../../src/types.js';

const c = defaultCalibration();
const shippedJson = JSON.parse(readFileSync(new URL('../../models/default/rationale-calibration.json', import.meta.url), 'utf8'));

/**
 * The shipped curves with a hedge band reaching into the good labels (hedgeFrom .3, the word
 * hedgeFrom shipped before 2026-12-01; assertFrom .9 as now): the shipped policy hedges only
 * labelled errors, so the acceptance of a hedge on a word the model labels good is exercised here.
 */
const wide = parseRationaleCalibration({ ...shippedJson, word: { ...shippedJson.word, policy: { assertFrom: 0.9, hedgeFrom: 0.3 } } });

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
const HEDGE_ZONE = [7.5, 7.6, 7.7, 7.8, 7.9, 8.0, 8.2, 8.4].find((x) => wordErrorProbability(wide, x) >= wide.word.hedgeFrom);

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
  expect(checkRationale(text, l, { calibration: wide }).flags).not.toContain('UNSUPPORTED_WORD_CRITIQUE');
  // stated as a fact, the same critique is not supported by a label of 8
  expect(checkRationale('"THINK" was not quite clear.', l, { calibration: wide }).flags).toContain('UNSUPPORTED_WORD_CRITIQUE');
  // a rater's labels carry no predictions: the hedge is judged as a plain critique
  const { continuous: _omit, ...rater } = l;
  expect(checkRationale(text, rater, { calibration: wide }).flags).toContain('UNSUPPORTED_WORD_CRITIQUE');
  // the shipped policy does not hedge there: the same hedge is an unsupported critique under it
  expect(wordErrorProbability(c, HEDGE_ZONE!)).toBeLessThan(c.word.hedgeFrom);
  expect(checkRationale(text, l).flags).toContain('UNSUPPORTED_WORD_CRITIQUE');
});

test('a hedge on a word the model is confident is right is still an unsupported critique', () => {
  const l = labels(9.9);
  expect(wordErrorProbability(c, 9.9)).toBeLessThan(c.word.hedgeFrom);
  expect(checkRationale('"THINK" was probably not quite clear.', l).flags).toContain('UNSUPPORTED_WORD_CRITIQUE');
  expect(checkRationale('The /θ/ sound was probably not quite right in "THREE".', l).flags).toContain('UNSUPPORTED_PHONEME_CRITIQUE');
});

test('the writer hedges a word in the hedge zone, asserts a labelled error, and leaves a confident good word out', () => {
  const hedged = generateRationale(labels(HEDGE_ZONE!), { calibration: wide });
  expect(hedged).toMatch(/"THINK" (was probably|may not have been) not quite clear|"THINK" may not have been quite clear/);
  expect(checkRationale(hedged, labels(HEDGE_ZONE!), { calibration: wide }).flags).toEqual([]);
  // the shipped policy leaves that word out
  expect(generateRationale(labels(HEDGE_ZONE!))).not.toContain('"THINK"');
  const sure = labels(3.2, 0.2);
  const text = generateRationale(sure);
  expect(text).toMatch(/"THINK" came out unclear/);
  expect(text).toContain('The /θ/ sound (as in bath) was unclear in "THINK"');
  expect(text).not.toContain('"THREE"');
  expect(checkRationale(text, sure).flags).toEqual([]);
});

test('praise is held to the same standard: plain only for a word a rater would surely call right, hedged otherwise', () => {
  // THINK labelled good (8) but in the band where raters often disagree; THREE surely right
  const zone = HEDGE_ZONE!;
  expect(1 - wordErrorProbability(c, zone)).toBeLessThan(c.word.assertFrom);
  expect(1 - wordErrorProbability(c, 9.9)).toBeGreaterThanOrEqual(c.word.assertFrom);
  const both = generateRationale(labels(zone));
  expect(both).toContain('"THREE" was especially clear.');
  expect(both).not.toContain('"THINK"');
  // only the unsure word: praised, but with a hedge, and the checker reads it as praise it supports
  const l = labels(zone);
  const only: AssessmentLabels = { ...l, words: [l.words[0]!], continuous: { ...l.continuous!, words: [l.continuous!.words[0]!] } };
  const text = generateRationale(only);
  expect(text).toContain('"THINK" was probably clear.');
  const check = checkRationale(text, only);
  expect(check.flags).toEqual([]);
  expect(check.words.praised).toEqual(['THINK']);
  const child = generateRationale(only, { audience: 'child' });
  expect(child).toContain('You said "THINK" quite well!');
  expect(checkRationale(child, only).flags).toEqual([]);
  expect(checkRationale(child, only).words.praised).toEqual(['THINK']);
  expect(generateRationale(labels(9.9), { audience: 'child' })).toContain('You said "THINK" and "THREE" really well!');
});

test('a hedged word for a child says "too" only after a plain one', () => {
  // THINK a labelled error (6) that the shipped policy hedges, not asserts
  const p = wordErrorProbability(c, 6.3);
  expect(p).toBeGreaterThanOrEqual(c.word.hedgeFrom);
  expect(p).toBeLessThan(c.word.assertFrom);
  const text = generateRationale(labels(6.3), { audience: 'child' });
  expect(text).toContain('Maybe practise "THINK" once more.');
  expect(checkRationale(text, labels(6.3)).flags).toEqual([]);
});
