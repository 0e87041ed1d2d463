/**
 * Dynamic batching of model runs: requests that arrive while others wait are grouped, up to
 * `size` requests or `waitMs` after the first one, bucketed by length so that rows of one batch
 * need little padding, and each bucket becomes one call of `runBatch`; every caller gets its own
 * result back, and a failing batch rejects each of its callers with the error.
 */

export interface BatchSettings {
  /** Most requests in one run; 1 disables batching (each request runs alone, at once). */
  size: number;
  /** How long the first waiting request waits for others before its batch runs. */
  waitMs: number;
  /** A bucket's longest row is at most this many times its shortest (padding stays small). */
  maxLengthRatio?: number;
  /** Told the lengths of each bucket before it runs (benchmarks replay the same batches on the bare session). */
  observe?: (lengths: readonly number[]) => void;
}

interface Pending<I, O> {
  item: I;
  resolve: (out: O) => void;
  reject: (e: unknown) => void;
}

const DEFAULT_LENGTH_RATIO = 1.5;

export class Batcher<I, O> {
  private pending: Pending<I, O>[] = [];
  private timer: NodeJS.Timeout | null = null;
  /** A batch is running: requests arriving now wait for it (the session runs one call at a time anyway). */
  private busy = false;

  /**
   * @param runBatch one model run for a bucket; must return one result per item, in order
   * @param lengthOf what padding is measured in (e.g. samples)
   */
  constructor(
    private readonly runBatch: (items: I[]) => Promise<O[]>,
    private readonly lengthOf: (item: I) => number,
    private readonly settings: BatchSettings,
  ) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      if (this.busy) return; // picked up when the running batch ends
      if (this.pending.length >= this.settings.size) void this.drain();
      else this.timer ??= setTimeout(() => void this.drain(), this.settings.waitMs);
    });
  }

  /** Run everything waiting, bucket by bucket, and whatever arrived meanwhile, until none is left. */
  private async drain(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.busy = true;
    try {
      while (this.pending.length) {
        const waiting = this.pending;
        this.pending = [];
        for (const bucket of buckets(waiting, (p) => this.lengthOf(p.item), this.settings)) await this.runBucket(bucket);
      }
    } finally {
      this.busy = false;
    }
  }

  private async runBucket(bucket: Pending<I, O>[]): Promise<void> {
    try {
      this.settings.observe?.(bucket.map((p) => this.lengthOf(p.item)));
      const outputs = await this.runBatch(bucket.map((p) => p.item));
      if (outputs.length !== bucket.length) throw new Error(`batch run returned ${outputs.length} results for ${bucket.length} requests`);
      bucket.forEach((p, i) => p.resolve(outputs[i]!));
    } catch (e) {
      for (const p of bucket) p.reject(e);
    }
  }
}

/**
 * Requests sorted by length, cut into runs of at most `size` whose longest is within
 * `maxLengthRatio` of their shortest.
 */
export function buckets<T>(items: readonly T[], lengthOf: (item: T) => number, settings: BatchSettings): T[][] {
  const ratio = settings.maxLengthRatio ?? DEFAULT_LENGTH_RATIO;
  const sorted = [...items].sort((a, b) => lengthOf(a) - lengthOf(b));
  const out: T[][] = [];
  let current: T[] = [];
  for (const item of sorted) {
    const full = current.length >= settings.size;
    const tooLong = current.length > 0 && lengthOf(item) > lengthOf(current[0]!) * ratio;
    if (full || tooLong) {
      out.push(current);
      current = [];
    }
    current.push(item);
  }
  if (current.length) out.push(current);
  return out;
}
