/**
 * Runs sweepBulkEnqueueing (./bulk.ts) in every process that runs a job worker: once at start, then
 * every `everyMs`. A bulk re-assessment whose queueing stopped part-way (the process that began it
 * ended) is thus queued on by whichever worker process looks next, from its cursor: nothing a
 * client was told is accepted goes unqueued. It also completes operations whose last job ended
 * where no one checked (./bulk.ts completeIfDone).
 */
import type { PrismaClient } from '../generated/prisma/client.js';
import { log } from '../ops/log.js';
import { sweepBulkCompletion, sweepBulkEnqueueing } from './bulk.js';

export class BulkEnqueueSweeper {
  private timer: NodeJS.Timeout | null = null;
  private completing: Promise<void> | null = null;
  private queueing: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly maxAttempts: number,
    private readonly everyMs: number,
    /** Nudges the delivery worker after a completion event is committed. */
    private readonly onEventsCommitted: () => void = () => undefined,
  ) {}

  start(): void {
    if (this.timer) return;
    this.stopped = false;
    this.sweep();
    this.timer = setInterval(() => this.sweep(), this.everyMs);
    this.timer.unref();
  }

  /**
   * Each tick: the completion sweep and the queueing sweep, each one at a time (a tick that finds
   * one still running skips that one). They run apart: queueing a large operation may take minutes,
   * and completions must not wait for it.
   */
  private sweep(): void {
    const go = () => !this.stopped;
    this.completing ??= sweepBulkCompletion(this.prisma, go)
      .then((completed) => {
        if (completed === 0) return;
        log.info('bulk re-assessment: completed by the sweep', { operations: completed });
        this.onEventsCommitted();
      })
      .catch((err: unknown) => log.warn('bulk completion sweep failed; the next one retries', { err }))
      .finally(() => {
        this.completing = null;
      });
    this.queueing ??= sweepBulkEnqueueing(this.prisma, this.maxAttempts, new Date(), go)
      .then((n) => {
        if (n > 0) log.info('bulk re-assessment: queued on from the cursor', { operations: n });
      })
      .catch((err: unknown) => log.warn('bulk re-assessment sweep failed; the next one retries', { err }))
      .finally(() => {
        this.queueing = null;
      });
  }

  /** Stops the ticks and a sweep in progress after its current batch (graceful shutdown, before the database closes). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await Promise.all([this.completing, this.queueing]);
  }
}
