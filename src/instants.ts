/**
 * The instants the API accepts: those PostgreSQL's timestamptz and JavaScript's Date both hold,
 * years 1 to 9999 UTC (the DateTime scalar refuses the rest; src/resolvers/scalars.ts).
 */
export const EARLIEST_INSTANT = new Date('0001-01-01T00:00:00.000Z');
export const LATEST_INSTANT = new Date('9999-12-31T23:59:59.999Z');

import { badInput } from './errors.js';

/**
 * BAD_USER_INPUT unless `at` is a valid instant within the supported range (the CLI's input too).
 * `argument`: the input's path (errors.ts, badInput); the message names its last part.
 */
export function checkInstant(at: Date, argument: string): Date {
  if (Number.isNaN(at.getTime()) || at < EARLIEST_INSTANT || at > LATEST_INSTANT) {
    const name = argument.split('.').pop();
    throw badInput(`${name} must be an instant from ${EARLIEST_INSTANT.toISOString()} to ${LATEST_INSTANT.toISOString()}.`, argument);
  }
  return at;
}

/** `at` moved by `ms`, kept within the supported instants (a default window near year 1). */
export function shiftWithin(at: Date, ms: number): Date {
  return new Date(Math.min(Math.max(at.getTime() + ms, EARLIEST_INSTANT.getTime()), LATEST_INSTANT.getTime()));
}
