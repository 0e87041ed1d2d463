/**
 * When a failed delivery is tried again. Exponential: the n-th retry waits base * 3^(n-1), capped,
 * each delay scaled by a random factor in [0.8, 1.2] so deliveries that failed together (a receiver
 * went down) do not all come back at the same instant. With the defaults (5 s base, 7 h cap, 12
 * attempts) the retries come about 5 s, 15 s, 45 s, 2 min, 7 min, 20 min, 1 h, 3 h, 7 h, 7 h and 7 h
 * apart: the last attempt is about 25.6 hours after the first.
 */
export interface RetrySchedule {
  baseMs: number;
  capMs: number;
  /** Attempts in all, the first included. */
  maxAttempts: number;
}

export const BACKOFF_FACTOR = 3;
export const JITTER = 0.2;

/** The nominal delay (no jitter) after `failedAttempts` failed attempts (1 = after the first). */
export function nominalRetryDelayMs(failedAttempts: number, s: Pick<RetrySchedule, 'baseMs' | 'capMs'>): number {
  return Math.min(s.capMs, s.baseMs * BACKOFF_FACTOR ** Math.max(0, failedAttempts - 1));
}

export function retryDelayMs(
  failedAttempts: number,
  s: Pick<RetrySchedule, 'baseMs' | 'capMs'>,
  random: () => number = Math.random,
): number {
  return Math.round(nominalRetryDelayMs(failedAttempts, s) * (1 - JITTER + 2 * JITTER * random()));
}

/** From the first attempt to the last one, without jitter. */
export function nominalSpanMs(s: RetrySchedule): number {
  let total = 0;
  for (let n = 1; n < s.maxAttempts; n++) total += nominalRetryDelayMs(n, s);
  return total;
}

/**
 * A `Retry-After` header (seconds, or an HTTP date) in ms from `now`; null when absent or unreadable.
 */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | null {
  if (!value) return null;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/**
 * After a failed attempt (`attempts` made so far): failed when none is left, else a retry after the
 * backoff, or the answer's Retry-After when that is longer (capped). Every channel judges this way.
 */
export function retryOrFail(
  attempts: number,
  s: RetrySchedule,
  retryAfterMs: number | null,
  random?: () => number,
): { kind: 'failed' } | { kind: 'retry'; delayMs: number } {
  if (attempts >= s.maxAttempts) return { kind: 'failed' };
  const backoff = retryDelayMs(attempts, s, random);
  return { kind: 'retry', delayMs: Math.min(s.capMs, Math.max(backoff, retryAfterMs ?? 0)) };
}
