/** The pure parts of score passback: scaling, the scores URL, the score body, retry classification, backoff. */
import { aspectValue, gradingProgressFor, scaleScore, scoreBody, scoresUrl } from '../../src/lti/score.js';
import { classifyScoreAnswer } from '../../src/lti/deliver.js';
import { retryOrFail } from '../../src/outbox/schedule.js';
import { scoreProblems } from '../support/lti-platform.js';

test('our 0-10 scores scale to the line item maximum, exactly where the ratio allows, clamped to the scale', () => {
  expect(scaleScore(7, 100)).toBe(70);
  expect(scaleScore(7, 5)).toBe(3.5);
  expect(scaleScore(10, 1)).toBe(1);
  expect(scaleScore(0, 100)).toBe(0);
  expect(scaleScore(3, 7)).toBe(2.1);
  expect(scaleScore(1, 3)).toBe(0.3);
  expect(scaleScore(2, 1 / 3)).toBe(0.0667);
  expect(scaleScore(12, 100)).toBe(100);
  expect(scaleScore(-1, 100)).toBe(0);
});

test('each aspect reads its own sentence score', () => {
  const s = { accuracy: 1, fluency: 2, prosody: 3, completeness: 4, total: 5 };
  expect((['ACCURACY', 'FLUENCY', 'PROSODY', 'COMPLETENESS', 'TOTAL'] as const).map((a) => aspectValue(s, a))).toEqual([1, 2, 3, 4, 5]);
});

test('the scores URL is the line item path + /scores, keeping its query string', () => {
  expect(scoresUrl('https://lms.example/api/lti/courses/1/line_items/7')).toBe('https://lms.example/api/lti/courses/1/line_items/7/scores');
  expect(scoresUrl('https://lms.example/lineitems/7/lineitem/')).toBe('https://lms.example/lineitems/7/lineitem/scores');
  expect(scoresUrl('https://moodle.example/mod/lti/services.php/2/lineitems/7/lineitem?type_id=1'))
    .toBe('https://moodle.example/mod/lti/services.php/2/lineitems/7/lineitem/scores?type_id=1');
});

test('the score body has every AGS field, a millisecond UTC timestamp, and no comment when there is none', () => {
  const at = new Date('2026-11-30T05:30:00.123Z');
  const body = scoreBody({ userId: 'u1', scoreGiven: 7, scoreMaximum: 10, comment: 'Good.', scoredAt: at, gradingProgress: 'FULLY_GRADED' });
  expect(body).toEqual({
    userId: 'u1', scoreGiven: 7, scoreMaximum: 10, comment: 'Good.', timestamp: '2026-11-30T05:30:00.123Z',
    activityProgress: 'Completed', gradingProgress: 'FullyGraded',
  });
  expect(scoreProblems({ ...body })).toEqual([]);
  expect('comment' in scoreBody({ userId: 'u1', scoreGiven: 7, scoreMaximum: 10, comment: null, scoredAt: at, gradingProgress: 'FULLY_GRADED' })).toBe(false);
  // The checking peer is strict: it would notice a wrong field.
  expect(scoreProblems({ ...body, scoreGiven: 11 })).toHaveLength(1);
  expect(scoreProblems({ ...body, timestamp: '2026-11-30T05:30:00Z' })).toHaveLength(1);
});

test('a reading of another sentence is posted as PendingManual (awaiting the teacher), every other assessment as FullyGraded', () => {
  expect(gradingProgressFor([])).toBe('FULLY_GRADED');
  expect(gradingProgressFor(['READ_WRONG_TEXT'])).toBe('PENDING_MANUAL');
  const at = new Date('2026-11-30T05:30:00.123Z');
  const body = scoreBody({ userId: 'u1', scoreGiven: 1, scoreMaximum: 10, comment: null, scoredAt: at, gradingProgress: 'PENDING_MANUAL' });
  expect(body.gradingProgress).toBe('PendingManual');
  expect(scoreProblems({ ...body })).toEqual([]);
  // AGS has exactly five values: the checking peer refuses any other spelling.
  expect(scoreProblems({ ...body, gradingProgress: 'PENDING_MANUAL' })).toHaveLength(1);
});

test('a failed grading is posted without a score: Failed, the activity Submitted; the peer holds a given score to its maximum', () => {
  const at = new Date('2026-11-30T05:30:00.123Z');
  const body = scoreBody({ userId: 'u1', scoreGiven: null, scoreMaximum: 10, comment: 'Not graded.', scoredAt: at, gradingProgress: 'FAILED' });
  expect(body).toEqual({ userId: 'u1', comment: 'Not graded.', timestamp: '2026-11-30T05:30:00.123Z', activityProgress: 'Submitted', gradingProgress: 'Failed' });
  expect(scoreProblems({ ...body })).toEqual([]);
  // A score given without its maximum, or an activity progress AGS does not have, is refused.
  expect(scoreProblems({ ...body, scoreGiven: 3 })).toEqual(['scoreMaximum must be present when scoreGiven is']);
  expect(scoreProblems({ ...body, activityProgress: 'Failed' })).toHaveLength(1);
});

test('2xx delivers; 401, 408, 429 and 5xx are retried; other refusals are final', () => {
  expect([200, 201, 204].map(classifyScoreAnswer)).toEqual(['delivered', 'delivered', 'delivered']);
  expect([401, 408, 429, 500, 502, 503].map(classifyScoreAnswer)).toEqual(Array(6).fill('retry'));
  expect([301, 400, 403, 404, 409, 415, 422].map(classifyScoreAnswer)).toEqual(Array(7).fill('failed'));
});

test('a retried score waits like a webhook: the outbox schedule, a longer Retry-After honoured up to the cap, failed once attempts run out', () => {
  const schedule = { baseMs: 5_000, capMs: 7 * 3600_000, maxAttempts: 12 };
  expect(retryOrFail(1, schedule, null, () => 0.5)).toEqual({ kind: 'retry', delayMs: 5_000 });
  expect(retryOrFail(3, schedule, null, () => 0.5)).toEqual({ kind: 'retry', delayMs: 45_000 });
  expect(retryOrFail(1, schedule, 60_000, () => 0.5)).toEqual({ kind: 'retry', delayMs: 60_000 });
  expect(retryOrFail(1, schedule, 30 * 3600_000, () => 0.5)).toEqual({ kind: 'retry', delayMs: schedule.capMs });
  expect(retryOrFail(12, schedule, null)).toEqual({ kind: 'failed' });
});
