/**
 * Runs sweepBulkEnqueueing (./bulk.ts) in every process that runs a job worker: once at start, then
 * every `everyMs`. A bulk re-assessment whose queueing stopped part-way (the process that began it
 * ended) is thus queued on by whichever worker process looks next, from its cursor: nothing a
 * client was told is accepted goes unqueued.
 */
import type { PrismaClient } from '../generated/prisma/client.js';
import { log } from '../ops/log.js';
import { sweepBulkEnqueueing } from './bulk.js';

export class BulkEnqueueSweeper {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly maxAttempts: number,
    private readonly everyMs: number,
  ) {}

  start(): void {
    if (this.timer) return;
    this.stopped = false;
    this.sweep();
    this.timer = setInterval(() => this.sweep(), this.everyMs);
    this.timer.unref();
  }

  /** One sweep at a time; a tick that finds one running skips. */
  private sweep(): void {
    if (this.running) return;
    this.running = sweepBulkEnqueueing(this.prisma, this.maxAttempts, new Date(), () => !this.stopped)
      .then((n) => {
        if (n > 0) log.info('bulk re-assessment: queued on from the cursor', { operations: n });
      })
      .catch((err: unknown) => log.warn('bulk re-assessment sweep failed; the next one retries', { err }))
      .finally(() => {
        this.running = null;
      });
  }

  /** Stops the ticks and a sweep in progress after its current batch (graceful shutdown, before the database closes). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }
}
