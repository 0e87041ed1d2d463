/**
 * The token buckets behind the per-key and per-address limits, on a clock the test moves: a step of
 * the clock backwards (an NTP correction) must neither lock a key out nor hand it extra tokens.
 */
import { TokenBuckets } from '../../src/http/rate-limit.js';

describe('TokenBuckets', () => {
  test('a key that spent its minute is served again after refilling, even when the clock stepped back an hour in between', () => {
    let t = 10 * 3_600_000;
    const buckets = new TokenBuckets(60, 100, () => t);
    for (let i = 0; i < 60; i++) expect(buckets.take('k').allowed).toBe(true);
    expect(buckets.take('k').allowed).toBe(false);
    t -= 3_600_000; // the wall clock corrected an hour back
    const refused = buckets.take('k');
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterSeconds).toBeLessThanOrEqual(1);
    t += 1_000; // one second later: one token, as the rate says
    expect(buckets.take('k').allowed).toBe(true);
    expect(buckets.take('k').allowed).toBe(false);
    t += 60_000;
    expect(buckets.peek('k').remaining).toBe(60);
  });

  test('by default the buckets read a monotonic clock, not the wall clock', () => {
    const buckets = new TokenBuckets(1);
    expect(buckets.take('k').allowed).toBe(true);
    const realNow = Date.now;
    Date.now = () => realNow() - 3_600_000;
    try {
      const refused = buckets.take('k');
      expect(refused.allowed).toBe(false);
      expect(refused.retryAfterSeconds).toBeLessThanOrEqual(60);
    } finally {
      Date.now = realNow;
    }
  });
});
