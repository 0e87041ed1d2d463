/**
 * A generic job worker over the queue in ./queue.ts: claims up to `concurrency` jobs, renews each
 * lease every leaseSeconds/3 while its handler runs, and commits the handler's result with
 * completeJob. The handler does its slow work (inference) outside any transaction and returns the
 * function that writes the result; that function runs inside completeJob's transaction.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Job, PrismaClient } from '../generated/prisma/client.js';
import {
  claimJob,
  completeJob,
  countClaimableJobs,
  extendLease,
  failJob,
  INTERNAL_FAILURE_MESSAGE,
  releaseJob,
  type JobFailure,
  type QueueHooks,
  type TransactionClient,
} from './queue.js';
import { isContention, isDatabaseUnavailable } from '../db/errors.js';
import { Poller } from './poll.js';
import { log } from '../ops/log.js';

export type WriteResult = (tx: TransactionClient) => Promise<void>;
export type JobHandler = (job: Job, signal: AbortSignal) => Promise<WriteResult>;

export interface WorkerEvents {
  /** Errors the worker survives (database unreachable while polling, a failed heartbeat...). */
  onError?: (err: unknown, context: { jobId?: string; phase: string }) => void;
  /** After each attempt: how it ended. */
  onJobSettled?: (job: Job, outcome: JobOutcome) => void;
}

/**
 * How an attempt ended. `released`: handed back by a graceful stop whose deadline passed (QUEUED
 * again, the attempt not counted against the budget: maxAttempts + 1); `abandoned`: dropped by a non-graceful stop (the lease expires).
 */
export type JobOutcome = 'succeeded' | 'retry' | 'failed' | 'lost' | 'abandoned' | 'released';

export interface WorkerOptions extends WorkerEvents {
  prisma: PrismaClient;
  /** Unique per running worker; defaults to `<hostname>:<pid>:<random>`. */
  workerId?: string;
  leaseSeconds: number;
  pollIntervalMs: number;
  concurrency: number;
  handler: JobHandler;
  classifyError: (err: unknown) => JobFailure;
  /**
   * A graceful stop waits this long for running attempts, then releases the ones still running
   * (back to QUEUED, the attempt not counted against the budget) so another worker takes them at
   * once. Default 30 s.
   */
  shutdownGraceMs?: number;
  /**
   * An attempt whose handler has not finished after this long is given up: failed as transient
   * (ATTEMPT_TIMED_OUT, retried while attempts last) and its handler signalled to stop. The lease is
   * renewed while the process lives, so without a limit a hung handler would hold its job RUNNING,
   * and a slot, for good. Absent: no limit.
   */
  maxAttemptMs?: number;
  /** Longest wait between polls while the database keeps failing (doubling from pollIntervalMs). Default 15 s. */
  maxPollBackoffMs?: number;
  /**
   * Longest a completing transaction may run (ms). One that runs past it, waiting on a lock another
   * transaction holds (a re-grade batch holds a learner's grade lock for up to a minute), is rolled
   * back and tried again like a lock conflict, not failed. Default 30 s.
   */
  completeTimeoutMs?: number;
  /**
   * Writes that go with a job ending FAILED, in the transaction that marks it (the outbox's
   * `assessment.failed`): see QueueHooks.
   */
  onJobFailed?: QueueHooks['onFailed'];
  /**
   * The model versions this worker can run (src/jobs/queue.ts claims only jobs that ask for none or
   * for one of them); null or absent: any job (workers that run no model, tests of the queue).
   */
  modelVersions?: readonly string[] | null;
  /** After each claim that returned a job: how long the claim took (this process's clock). */
  onClaimed?: (job: Job, claimMs: number) => void;
}

const DEFAULT_SHUTDOWN_GRACE_MS = 30_000;
const DEFAULT_MAX_POLL_BACKOFF_MS = 15_000;
/** Writing a finished result is retried this many times while the database is unreachable. */
const COMPLETE_RETRIES = 5;

/** What an attempt past `maxAttemptMs` is failed with (transient). */
export const ATTEMPT_TIMED_OUT = 'ATTEMPT_TIMED_OUT';

class AttemptTimedOut extends Error {
  constructor(readonly ms: number) {
    super(`The attempt did not finish within ${Math.round(ms / 1000)} s.`);
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref?.());

interface Running {
  job: Job;
  controller: AbortController;
  heartbeat: NodeJS.Timeout;
  done: Promise<void>;
  /** Set by a non-graceful stop, or once released: the attempt must not touch the database any more. */
  abandoned: boolean;
  /** Handed back by a graceful stop (its outcome is already reported). */
  released?: boolean;
}

export function defaultWorkerId(): string {
  return `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
}

export class Worker {
  readonly workerId: string;
  private readonly opts: WorkerOptions;
  private readonly running = new Map<string, Running>();
  private loop: Promise<void> | null = null;
  private stopping = false;
  private abandoning = false;
  /** Bumped by each start(): a loop left over from a non-graceful stop sees it and exits. */
  private generation = 0;
  private readonly poller: Poller;
  private drainWaiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];

  private readonly hooks: QueueHooks;

  constructor(options: WorkerOptions) {
    if (!(options.concurrency >= 1)) throw new Error('Worker concurrency must be at least 1');
    if (!(options.leaseSeconds > 0)) throw new Error('Worker leaseSeconds must be positive');
    this.opts = options;
    this.hooks = options.onJobFailed ? { onFailed: options.onJobFailed } : {};
    this.poller = new Poller(options.pollIntervalMs, options.maxPollBackoffMs ?? DEFAULT_MAX_POLL_BACKOFF_MS);
    this.workerId = options.workerId ?? defaultWorkerId();
  }

  get activeJobs(): number {
    return this.running.size;
  }

  get isRunning(): boolean {
    return this.loop !== null && !this.stopping;
  }

  start(): void {
    if (this.loop) return;
    this.stopping = false;
    this.abandoning = false;
    this.loop = this.run(++this.generation);
  }

  /** Nudges the poll loop (after a submit), instead of waiting for the next poll. */
  wake(): void {
    this.poller.wake();
  }

  /**
   * graceful: stop claiming and wait for the running attempts to finish and be recorded, at most
   * `deadlineMs` (default: the shutdownGraceMs option); attempts still running then are released:
   * put back to QUEUED, the attempt not counted against the budget (its number stays used), so
   * another worker claims them right away
   * (their handlers are aborted and can no longer write anything).
   * not graceful: abandon the running attempts at once, without touching the database (as if the
   * process had been killed); their leases expire and another worker takes the jobs over.
   */
  async stop({ graceful, deadlineMs }: { graceful: boolean; deadlineMs?: number } = { graceful: true }): Promise<void> {
    this.stopping = true;
    if (!graceful) {
      this.abandoning = true;
      for (const r of this.running.values()) {
        r.abandoned = true;
        clearInterval(r.heartbeat);
        r.controller.abort(new Error('worker stopped'));
      }
      this.running.clear();
    }
    this.wake();
    const loop = this.loop;
    if (graceful) {
      const grace = deadlineMs ?? this.opts.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS;
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<'deadline'>((resolve) => {
        timer = setTimeout(() => resolve('deadline'), Math.max(0, grace));
      });
      try {
        // The loop ends after its current claim (a job claimed while stopping is released by it).
        await Promise.race([loop, deadline]);
        // Not the attempts already recorded (timed out, their slots held until their handlers stop).
        await Promise.race([Promise.all([...this.running.values()].filter((r) => !r.abandoned).map((r) => r.done)), deadline]);
      } finally {
        clearTimeout(timer);
      }
      await Promise.all([...this.running.values()].map((r) => this.release(r)));
    }
    this.loop = null;
    const waiters = this.drainWaiters.splice(0);
    for (const w of waiters) w.reject(new Error('worker stopped before the queue drained'));
  }

  /** Hands a running attempt's job back (graceful stop past its deadline). */
  private async release(entry: Running): Promise<void> {
    if (entry.abandoned) return;
    entry.abandoned = true; // from here on the attempt writes nothing, whatever its handler does
    entry.released = true;
    clearInterval(entry.heartbeat);
    entry.controller.abort(new Error('worker shutting down'));
    if (this.running.get(entry.job.id) === entry) this.running.delete(entry.job.id);
    try {
      const released = await releaseJob(this.opts.prisma, entry.job, this.workerId);
      this.settle(entry.job, released ? 'released' : 'lost');
    } catch (err) {
      // The lease expires and whoever claims next takes the job over.
      this.reportError(err, 'release', entry.job.id);
    }
  }

  private settle(job: Job, outcome: JobOutcome): void {
    try {
      this.opts.onJobSettled?.(job, outcome);
    } catch (err) {
      this.reportError(err, 'onJobSettled', job.id);
    }
  }

  /**
   * Resolves once this worker runs nothing and no job is claimable (queued jobs waiting for their
   * backoff and jobs leased by other live workers do not count). For tests and scripts.
   */
  drain(): Promise<void> {
    if (!this.loop || this.stopping) return Promise.reject(new Error('drain() needs a started worker'));
    const p = new Promise<void>((resolve, reject) => this.drainWaiters.push({ resolve, reject }));
    this.wake();
    return p;
  }

  /**
   * The failure to record for an attempt that threw. An internal one is stored with a fixed
   * message (clients read Job.error) and its cause goes to the log under the job's id.
   */
  private classify(err: unknown, jobId: string, transientIfUnclassified: boolean): JobFailure {
    let failure: JobFailure;
    try {
      failure = this.opts.classifyError(err);
    } catch (classifyErr) {
      this.reportError(classifyErr, 'classify', jobId);
      failure = { code: 'INTERNAL_SERVER_ERROR', message: INTERNAL_FAILURE_MESSAGE, transient: transientIfUnclassified };
    }
    if (failure.code === 'INTERNAL_SERVER_ERROR') this.reportError(err, 'assess', jobId);
    return failure;
  }

  private reportError(err: unknown, phase: string, jobId?: string): void {
    if (this.opts.onError) this.opts.onError(err, { phase, jobId });
    else log.error(`worker ${phase}`, { workerId: this.workerId, jobId, err });
  }

  private async run(gen: number): Promise<void> {
    const live = () => !this.stopping && gen === this.generation;
    let failures = 0; // consecutive failed polls: the wait doubles, up to maxPollBackoffMs
    while (live()) {
      this.poller.beginPoll();
      let claimedNothing = false;
      try {
        while (live() && this.running.size < this.opts.concurrency) {
          const claimStarted = performance.now();
          const job = await claimJob(this.opts.prisma, this.workerId, this.opts.leaseSeconds, this.hooks, this.opts.modelVersions ?? null);
          if (!job) {
            claimedNothing = true;
            break;
          }
          this.opts.onClaimed?.(job, performance.now() - claimStarted);
          // Claimed while a stop came in. Non-graceful: leave it, its lease expires like a killed
          // worker's. Graceful: hand it straight back.
          if (this.abandoning || gen !== this.generation) break;
          if (this.stopping) {
            await releaseJob(this.opts.prisma, job, this.workerId).catch((err) => this.reportError(err, 'release', job.id));
            break;
          }
          this.launch(job);
        }
        if (claimedNothing && this.running.size === 0 && this.drainWaiters.length > 0) {
          // Double-check with a read: another worker may have re-queued something meanwhile.
          if ((await countClaimableJobs(this.opts.prisma, this.opts.modelVersions ?? null)) === 0 && this.running.size === 0) {
            for (const w of this.drainWaiters.splice(0)) w.resolve();
          } else {
            this.poller.pending = true;
          }
        }
        failures = 0;
      } catch (err) {
        if (!live()) break;
        failures++;
        this.reportError(err, failures > 1 ? `poll (failed ${failures} times in a row)` : 'poll');
      }
      if (!live()) break;
      await this.poller.idle(failures);
    }
  }

  private launch(job: Job): void {
    const controller = new AbortController();
    const entry: Running = {
      job,
      controller,
      abandoned: false,
      heartbeat: setInterval(() => void this.heartbeat(entry), Math.max(50, (this.opts.leaseSeconds * 1000) / 3)),
      done: Promise.resolve(),
    };
    entry.heartbeat.unref?.();
    this.running.set(job.id, entry);
    entry.done = this.attempt(entry)
      .catch((err) => this.reportError(err, 'attempt', job.id)) // never an unhandled rejection
      .finally(() => {
        clearInterval(entry.heartbeat);
        if (this.running.get(job.id) === entry) this.running.delete(job.id);
        this.wake(); // a slot is free
      });
  }

  private async heartbeat(entry: Running): Promise<void> {
    if (entry.abandoned || entry.controller.signal.aborted) return;
    try {
      const ok = await extendLease(this.opts.prisma, entry.job, this.workerId, this.opts.leaseSeconds);
      if (!ok && !entry.abandoned) {
        clearInterval(entry.heartbeat);
        entry.controller.abort(new Error('lease lost'));
      }
    } catch (err) {
      if (!entry.abandoned) this.reportError(err, 'heartbeat', entry.job.id);
    }
  }

  /** The handler's result, or AttemptTimedOut once maxAttemptMs has passed. */
  private withinAttemptLimit<T>(work: Promise<T>): Promise<T> {
    const ms = this.opts.maxAttemptMs;
    if (!ms) return work;
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new AttemptTimedOut(ms)), ms);
      timer.unref?.();
    });
    return Promise.race([work, limit]).finally(() => clearTimeout(timer));
  }

  /**
   * After an attempt timed out, its slot stays taken until its handler has stopped, for at most
   * another maxAttemptMs: an inference cannot be interrupted, and starting the next job (or this
   * one's retry) beside it ran more attempts than `concurrency` at once; on a loaded machine that
   * slowed every attempt past the limit in turn. A handler still running after that is left behind.
   */
  private async slotHeldUntilStopped(work: Promise<unknown>, jobId: string): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const stopped = await Promise.race([
      work.then(() => true, () => true),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), this.opts.maxAttemptMs ?? 0);
        timer.unref?.();
      }),
    ]);
    clearTimeout(timer);
    if (!stopped) this.reportError(new Error('a timed-out attempt is still running; its slot is given back'), 'attempt', jobId);
  }

  private async attempt(entry: Running): Promise<void> {
    const { job, controller } = entry;
    const { prisma } = this.opts;
    const settle = (outcome: JobOutcome) => {
      if (!entry.released) this.settle(job, outcome);
    };
    let write: WriteResult;
    let work: Promise<WriteResult> | undefined;
    try {
      work = this.opts.handler(job, controller.signal);
      write = await this.withinAttemptLimit(work);
    } catch (err) {
      if (entry.abandoned) return settle('abandoned');
      if (err instanceof AttemptTimedOut && !controller.signal.aborted) {
        controller.abort(err); // the handler may stop; whatever it still writes is fenced off
        const failure = { code: ATTEMPT_TIMED_OUT, message: err.message, transient: true };
        this.reportError(err, 'attempt', job.id);
        try {
          settle(await failJob(prisma, job, this.workerId, failure, Math.random, this.hooks));
        } catch (dbErr) {
          this.reportError(dbErr, 'failJob', job.id);
        }
        entry.abandoned = true; // recorded: nothing more to write, nothing to hand back at a stop
        clearInterval(entry.heartbeat);
        if (work) await this.slotHeldUntilStopped(work, job.id);
        return;
      }
      if (controller.signal.aborted) return settle('lost');
      const failure = this.classify(err, job.id, false);
      try {
        settle(await failJob(prisma, job, this.workerId, failure, Math.random, this.hooks));
      } catch (dbErr) {
        // The lease will expire and the job will be retried by whoever claims it next.
        this.reportError(dbErr, 'failJob', job.id);
      }
      return;
    }
    for (let retry = 0; ; retry++) {
      if (entry.abandoned) return settle('abandoned');
      if (controller.signal.aborted) return settle('lost');
      try {
        // Safe to repeat: completeJob writes only while this attempt still holds the job, in one
        // transaction, so a retry after a commit whose answer was lost finds it SUCCEEDED (false).
        const ok = await completeJob(prisma, job, this.workerId, write, { timeoutMs: this.opts.completeTimeoutMs });
        return settle(ok ? 'succeeded' : 'lost');
      } catch (err) {
        if (entry.abandoned) return settle('abandoned');
        // The database down, or this transaction rolled back behind another's locks (an erasure, a
        // re-grade batch holding the learner's grade lock): the inference is done, so wait and write
        // it again rather than spend the attempt on it. The heartbeat keeps the lease meanwhile.
        if ((isDatabaseUnavailable(err) || isContention(err)) && retry < COMPLETE_RETRIES) {
          this.reportError(err, `complete (retry ${retry + 1} of ${COMPLETE_RETRIES})`, job.id);
          await sleep(Math.min(8_000, 500 * 2 ** retry));
          continue;
        }
        // Writing the result failed (constraint violation, bug in the writer, database down).
        const failure = this.classify(err, job.id, true);
        try {
          settle(await failJob(prisma, job, this.workerId, failure, Math.random, this.hooks));
        } catch (dbErr) {
          this.reportError(dbErr, 'failJob', job.id);
        }
        return;
      }
    }
  }
}
