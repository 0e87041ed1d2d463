/**
 * Which model version a job may ask for. Known: a version a live worker's heartbeat lists (its
 * default bundle's and its extra bundles'), one this process's own worker serves, or one of the
 * bundles configured on this process (SPEECHMARK_MODEL_DIR, SPEECHMARK_EXTRA_MODEL_DIRS). Anything
 * else is refused with UNKNOWN_MODEL_VERSION before a row is written: a job no worker could ever
 * claim would wait in the queue for good. A known version whose workers all stop later is not
 * refused after the fact: its jobs stay QUEUED until a worker serving it is back.
 */
import { AppError } from '../errors.js';

/**
 * `requested` when known, null when none was asked for; UNKNOWN_MODEL_VERSION otherwise, naming the
 * input as BAD_USER_INPUT does (`argument`: `input.modelVersion` or reassessUtterance's `modelVersion`).
 */
export async function checkModelVersion(
  known: () => Promise<string[]>,
  requested: string | null | undefined,
  argument: string,
  /**
   * Whether the request's idempotency key was used before. A retry is answered with what the key
   * first did (or CONFLICT when it asked for something else), whether or not a worker serves the
   * version now: a client retrying after a lost answer must not be told its accepted request failed.
   */
  keyUsedBefore: () => Promise<boolean> = async () => false,
): Promise<string | null> {
  if (requested === null || requested === undefined) return null;
  const versions = await known();
  if (versions.includes(requested)) return requested;
  if (await keyUsedBefore()) return requested;
  throw new AppError(
    'UNKNOWN_MODEL_VERSION',
    `Unknown modelVersion ${JSON.stringify(requested)}: served here are ${versions.map((v) => JSON.stringify(v)).join(', ') || 'none'}.`,
    { argument, modelVersion: requested, knownVersions: versions },
  );
}
