/** The grading policies as plain functions: which readings count, and what the comment leads with. */
import { gradeComment, gradeOf, gradeTimestamp, type Reading } from '../../src/lti/grading.js';

const ok = (value: number): Reading => ({ value, wrongText: false });
const wrong = (value: number): Reading => ({ value, wrongText: true });

test('LATEST is the reading just assessed, whatever came before', () => {
  expect(gradeOf('LATEST', ok(4), [ok(9), ok(8)])).toEqual({ value: 4, gradingProgress: 'FULLY_GRADED', attemptsGraded: 1 });
  expect(gradeOf('LATEST', wrong(1), [ok(9)])).toEqual({ value: 1, gradingProgress: 'PENDING_MANUAL', attemptsGraded: 1 });
});

test('BEST and MEAN count the readings of the task; readings of another sentence are left out', () => {
  expect(gradeOf('BEST', ok(4), [ok(9), wrong(10), ok(6)])).toEqual({ value: 9, gradingProgress: 'FULLY_GRADED', attemptsGraded: 3 });
  expect(gradeOf('MEAN', ok(4), [ok(9), wrong(10), ok(6)]).value).toBeCloseTo(19 / 3, 12);
  expect(gradeOf('MEAN', ok(4), [ok(9), wrong(10), ok(6)]).attemptsGraded).toBe(3);
  // The reading just assessed is another sentence: the grade stands on the others, and is final.
  expect(gradeOf('BEST', wrong(2), [ok(5), ok(7)])).toEqual({ value: 7, gradingProgress: 'FULLY_GRADED', attemptsGraded: 2 });
  expect(gradeOf('MEAN', wrong(2), [ok(5), ok(7)])).toEqual({ value: 6, gradingProgress: 'FULLY_GRADED', attemptsGraded: 2 });
  // Nothing but other sentences: the latest, awaiting the teacher, as under LATEST.
  expect(gradeOf('BEST', wrong(2), [wrong(3)])).toEqual({ value: 2, gradingProgress: 'PENDING_MANUAL', attemptsGraded: 1 });
  expect(gradeOf('MEAN', ok(5), [])).toEqual({ value: 5, gradingProgress: 'FULLY_GRADED', attemptsGraded: 1 });
});

test('the comment says what the grade is made of, then the latest reading\'s rationale, within the cap', () => {
  expect(gradeComment('LATEST', gradeOf('LATEST', ok(4), []), 'Good.')).toBe('Good.');
  expect(gradeComment('LATEST', gradeOf('LATEST', ok(4), []), null)).toBeNull();
  expect(gradeComment('BEST', gradeOf('BEST', ok(4), [ok(9)]), 'Good.')).toBe('Grade: the best of 2 readings; feedback on the latest.\n\nGood.');
  expect(gradeComment('MEAN', gradeOf('MEAN', ok(4), []), null)).toBe('Grade: the mean of 1 reading; feedback on the latest.');
  // Awaiting the teacher: the rationale (which asks for the right sentence) alone.
  expect(gradeComment('BEST', gradeOf('BEST', wrong(1), []), 'Read the sentence.')).toBe('Read the sentence.');
  expect(gradeComment('BEST', gradeOf('BEST', ok(4), [ok(9)]), 'x'.repeat(5000))!.length).toBe(2000);
});

test("a grade is stamped by the database's clock, after the user's previous one and after a deleted one the platform holds", () => {
  const now = new Date('2026-12-03T10:00:00.000Z');
  const at = (lastScoredAt: string | null) => ({ lastScoredAt: lastScoredAt === null ? null : new Date(lastScoredAt), now });
  expect(gradeTimestamp(at(null))).toEqual(now);
  expect(gradeTimestamp(at('2026-12-03T09:59:59.000Z'))).toEqual(now);
  expect(gradeTimestamp(at('2026-12-03T10:00:00.000Z'))).toEqual(new Date('2026-12-03T10:00:00.001Z'));
  expect(gradeTimestamp(at('2026-12-03T10:00:05.000Z'))).toEqual(new Date('2026-12-03T10:00:05.001Z'));
  // A deleted reading's grade, stamped ahead by a process whose clock was: the newest the platform holds.
  expect(gradeTimestamp(at('2026-12-03T09:00:00.000Z'), new Date('2026-12-03T10:10:00.000Z'))).toEqual(new Date('2026-12-03T10:10:00.001Z'));
  expect(gradeTimestamp(at('2026-12-03T10:00:05.000Z'), new Date('2026-12-03T09:00:00.000Z'))).toEqual(new Date('2026-12-03T10:00:05.001Z'));
  expect(gradeTimestamp(at(null), new Date('2026-12-03T09:00:00.000Z'))).toEqual(now);
});
