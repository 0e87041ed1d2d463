/**
 * Token buckets in memory, one process's view: per API key (every request costs 1, an upload more)
 * and per client IP for failed authentications. A bucket holds `perMinute` tokens and refills
 * continuously at perMinute/60 a second, so a client may burst a minute's quota and then runs at
 * the steady rate. Several API processes each enforce their own buckets.
 */
export interface BucketState {
  allowed: boolean;
  /** Whole tokens left after this request. */
  remaining: number;
  /** Seconds until the bucket is full again. */
  resetSeconds: number;
  /** When refused: seconds until enough tokens for this request have refilled. */
  retryAfterSeconds: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();
  private readonly ratePerMs: number;

  constructor(
    readonly perMinute: number,
    /** Buckets kept at most; full buckets are dropped first (a full bucket is the same as none). */
    private readonly maxEntries = 100_000,
    /**
     * Milliseconds on a clock that never steps back (not the wall clock: an NTP correction of an
     * hour backwards would otherwise leave every bucket refilling for an hour).
     */
    private readonly now: () => number = () => performance.now(),
  ) {
    this.ratePerMs = perMinute / 60_000;
  }

  get enabled(): boolean {
    return this.perMinute > 0;
  }

  private refilled(key: string, t: number): Bucket {
    const b = this.buckets.get(key);
    if (!b) return { tokens: this.perMinute, at: t };
    // Never less than the bucket held: a clock that does step back refills nothing, drains nothing.
    return { tokens: Math.min(this.perMinute, b.tokens + Math.max(0, t - b.at) * this.ratePerMs), at: t };
  }

  private state(b: Bucket, allowed: boolean, cost: number): BucketState {
    const missing = this.perMinute - b.tokens;
    return {
      allowed,
      remaining: Math.max(0, Math.floor(b.tokens)),
      resetSeconds: Math.max(0, Math.ceil(missing / this.ratePerMs / 1000)),
      retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil((cost - b.tokens) / this.ratePerMs / 1000)),
    };
  }

  /** Take `cost` tokens if there are enough (a cost above the bucket size takes the whole bucket). */
  take(key: string, cost = 1): BucketState {
    const t = this.now();
    const b = this.refilled(key, t);
    const need = Math.min(cost, this.perMinute);
    const allowed = b.tokens >= need;
    if (allowed) b.tokens -= need;
    this.store(key, b);
    return this.state(b, allowed, need);
  }

  /** Whether `cost` tokens are there, without taking any. */
  peek(key: string, cost = 1): BucketState {
    const b = this.refilled(key, this.now());
    const need = Math.min(cost, this.perMinute);
    return this.state(b, b.tokens >= need, need);
  }

  private store(key: string, b: Bucket): void {
    this.buckets.delete(key); // re-insert: the map's order is least recently used first
    this.buckets.set(key, b);
    if (this.buckets.size <= this.maxEntries) return;
    const t = this.now();
    for (const [k, v] of this.buckets) {
      if (v.tokens + (t - v.at) * this.ratePerMs >= this.perMinute) this.buckets.delete(k);
    }
    for (const k of this.buckets.keys()) {
      if (this.buckets.size <= this.maxEntries) break;
      this.buckets.delete(k);
    }
  }

  get size(): number {
    return this.buckets.size;
  }
}

/** `RateLimit-Policy` and `RateLimit` header values (draft-ietf-httpapi-ratelimit-headers-10). */
export function rateLimitHeaders(policy: string, perMinute: number, s: BucketState): Record<string, string> {
  return {
    'RateLimit-Policy': `"${policy}";q=${perMinute};w=60`,
    RateLimit: `"${policy}";r=${s.remaining};t=${s.resetSeconds}`,
  };
}

/** A small bounded set of key hashes seen to authenticate, so an IP's failure throttle spares them. */
export class RecentSet {
  private readonly items = new Map<string, number>();
  constructor(
    private readonly max = 10_000,
    private readonly ttlMs = 10 * 60_000,
    /**
     * Milliseconds on a clock that never steps back (not the wall clock: an NTP correction of an
     * hour backwards would otherwise leave every bucket refilling for an hour).
     */
    private readonly now: () => number = () => performance.now(),
  ) {}
  add(key: string): void {
    this.items.delete(key);
    this.items.set(key, this.now() + this.ttlMs);
    for (const k of this.items.keys()) {
      if (this.items.size <= this.max) break;
      this.items.delete(k);
    }
  }
  has(key: string): boolean {
    const until = this.items.get(key);
    if (until === undefined) return false;
    if (until < this.now()) {
      this.items.delete(key);
      return false;
    }
    return true;
  }
}
