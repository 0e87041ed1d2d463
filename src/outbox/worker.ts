/**
 * The delivery worker: claims due deliveries (./store.ts), sends each through its channel (today
 * WEBHOOK, ./webhook.ts) with up to `concurrency` in flight, and records every attempt. It runs in
 * the API process and in `npm run worker` processes by default; any number of them share the queue.
 *
 * A process that committed an event nudges its own worker (wake) so the first attempt goes out at
 * once; other workers find it on their next poll. A graceful stop waits for attempts in flight
 * (each is bounded by the request timeout) up to the grace period, then aborts the rest and hands
 * them back unspent.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { PrismaClient } from '../generated/prisma/client.js';
import { isDatabaseUnavailable } from '../db/errors.js';
import { Poller } from '../jobs/poll.js';
import { attemptWebhook, type WebhookSettings } from './webhook.js';
import { claimDeliveries, countClaimableDeliveries, deleteOldEvents, recordAttempt, type AttemptRecord, type ClaimedDelivery } from './store.js';

export type DeliveryOutcome = 'delivered' | 'retry' | 'failed' | 'released' | 'lost';

export interface DeliveryWorkerOptions extends WebhookSettings {
  prisma: PrismaClient;
  workerId?: string;
  concurrency: number;
  pollIntervalMs: number;
  /** Events (settled) older than this are deleted, checked once an hour; 0 keeps them. */
  retentionDays: number;
  shutdownGraceMs?: number;
  maxPollBackoffMs?: number;
  onError?: (err: unknown, context: { phase: string; deliveryId?: string }) => void;
  /** After each attempt is recorded. */
  onSettled?: (delivery: ClaimedDelivery, outcome: DeliveryOutcome, record: AttemptRecord) => void;
}

const RETENTION_EVERY_MS = 3600_000;
const RECORD_RETRIES = 5;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref?.());

interface InFlight {
  delivery: ClaimedDelivery;
  controller: AbortController;
  done: Promise<void>;
}

export class DeliveryWorker {
  readonly workerId: string;
  private readonly opts: DeliveryWorkerOptions;
  private readonly running = new Map<string, InFlight>();
  private loop: Promise<void> | null = null;
  private stopping = false;
  private readonly poller: Poller;
  private lastRetention = 0;
  private drainWaiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];

  constructor(options: DeliveryWorkerOptions) {
    if (!(options.concurrency >= 1)) throw new Error('DeliveryWorker concurrency must be at least 1');
    this.opts = options;
    this.poller = new Poller(options.pollIntervalMs, options.maxPollBackoffMs ?? 15_000);
    this.workerId = options.workerId ?? `${hostname()}:${process.pid}:deliveries:${randomUUID().slice(0, 8)}`;
  }

  /** A claimed delivery's lease: the request timeout, plus time to load and record it. */
  private get leaseSeconds(): number {
    return Math.ceil(this.opts.timeoutMs / 1000) + 10;
  }

  get inFlight(): number {
    return this.running.size;
  }

  start(): void {
    if (this.loop) return;
    this.stopping = false;
    this.loop = this.run();
  }

  /** Look for due deliveries now (after committing an event, or when a slot frees). */
  wake(): void {
    this.poller.wake();
  }

  /** Resolves once nothing is in flight and nothing is due (deliveries waiting for a retry do not count). */
  drain(): Promise<void> {
    if (!this.loop || this.stopping) return Promise.reject(new Error('drain() needs a started delivery worker'));
    const p = new Promise<void>((resolve, reject) => this.drainWaiters.push({ resolve, reject }));
    this.wake();
    return p;
  }

  async stop({ deadlineMs }: { deadlineMs?: number } = {}): Promise<void> {
    if (!this.loop) return;
    this.stopping = true;
    this.wake();
    const grace = deadlineMs ?? this.opts.shutdownGraceMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, Math.max(0, grace));
    });
    try {
      await Promise.race([this.loop, deadline]);
      await Promise.race([Promise.all([...this.running.values()].map((r) => r.done)), deadline]);
    } finally {
      clearTimeout(timer);
    }
    // Past the grace: abort what is still in flight; each hands its delivery back (release).
    for (const r of this.running.values()) r.controller.abort(new Error('delivery worker stopping'));
    await Promise.all([...this.running.values()].map((r) => r.done));
    await this.loop;
    this.loop = null;
    for (const w of this.drainWaiters.splice(0)) w.reject(new Error('delivery worker stopped before the queue drained'));
  }

  private reportError(err: unknown, phase: string, deliveryId?: string): void {
    if (this.opts.onError) this.opts.onError(err, { phase, deliveryId });
    else console.error(`[deliveries ${this.workerId}] ${phase}${deliveryId ? ` (delivery ${deliveryId})` : ''}:`, err);
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      this.poller.beginPoll();
      let idle = false;
      try {
        const free = this.opts.concurrency - this.running.size;
        if (free > 0) {
          const claimed = await claimDeliveries(this.opts.prisma, this.workerId, this.leaseSeconds, free, this.opts.schedule.maxAttempts);
          for (const d of claimed) {
            if (this.stopping) {
              await recordAttempt(this.opts.prisma, d, this.workerId, {
                verdict: { kind: 'release' }, startedAt: new Date(), durationMs: 0, statusCode: null, errorCode: null, error: null, responseBody: null,
              }).catch((err) => this.reportError(err, 'release', d.id));
              continue;
            }
            this.launch(d);
          }
          idle = claimed.length < free;
        }
        if (idle && this.running.size === 0 && this.drainWaiters.length > 0) {
          if ((await countClaimableDeliveries(this.opts.prisma)) === 0 && this.running.size === 0) {
            for (const w of this.drainWaiters.splice(0)) w.resolve();
          } else {
            this.poller.pending = true;
          }
        }
        if (idle) await this.retention();
        failures = 0;
      } catch (err) {
        if (this.stopping) break;
        failures++;
        this.reportError(err, failures > 1 ? `poll (failed ${failures} times in a row)` : 'poll');
      }
      if (this.stopping) break;
      await this.poller.idle(failures);
    }
  }

  private async retention(): Promise<void> {
    if (this.opts.retentionDays <= 0 || Date.now() - this.lastRetention < RETENTION_EVERY_MS) return;
    this.lastRetention = Date.now();
    try {
      await deleteOldEvents(this.opts.prisma, this.opts.retentionDays);
    } catch (err) {
      this.reportError(err, 'retention');
    }
  }

  private launch(d: ClaimedDelivery): void {
    const controller = new AbortController();
    const entry: InFlight = { delivery: d, controller, done: Promise.resolve() };
    this.running.set(d.id, entry);
    entry.done = this.attempt(d, controller.signal)
      .catch((err) => this.reportError(err, 'attempt', d.id))
      .finally(() => {
        if (this.running.get(d.id) === entry) this.running.delete(d.id);
        this.wake(); // a slot is free
      });
  }

  private async attempt(d: ClaimedDelivery, signal: AbortSignal): Promise<void> {
    let record: AttemptRecord;
    try {
      if (d.channel !== 'WEBHOOK') throw new Error(`no sender for channel ${d.channel}`);
      record = await attemptWebhook(this.opts.prisma, d, this.opts, signal);
    } catch (err) {
      if (signal.aborted) {
        record = { verdict: { kind: 'release' }, startedAt: new Date(), durationMs: 0, statusCode: null, errorCode: 'ABORTED', error: null, responseBody: null };
      } else if (isDatabaseUnavailable(err)) {
        // Could not even load it: the lease expires and the delivery is claimed again.
        this.reportError(err, 'load', d.id);
        return;
      } else {
        this.reportError(err, 'attempt', d.id);
        record = {
          verdict: d.attempts >= this.opts.schedule.maxAttempts ? { kind: 'failed' } : { kind: 'retry', delayMs: this.opts.schedule.baseMs },
          startedAt: new Date(), durationMs: 0, statusCode: null, errorCode: 'INTERNAL_ERROR', error: (err as Error)?.message ?? String(err), responseBody: null,
        };
      }
    }
    for (let retry = 0; ; retry++) {
      try {
        const ok = await recordAttempt(this.opts.prisma, d, this.workerId, record);
        const v = record.verdict.kind;
        this.settle(d, !ok ? 'lost' : v === 'release' ? 'released' : v, record);
        return;
      } catch (err) {
        if (isDatabaseUnavailable(err) && retry < RECORD_RETRIES && !this.stopping) {
          this.reportError(err, `record (retry ${retry + 1} of ${RECORD_RETRIES})`, d.id);
          await sleep(Math.min(8_000, 500 * 2 ** retry));
          continue;
        }
        // Not recorded: the lease expires and the delivery is sent again (same webhook-id).
        this.reportError(err, 'record', d.id);
        return;
      }
    }
  }

  private settle(d: ClaimedDelivery, outcome: DeliveryOutcome, record: AttemptRecord): void {
    try {
      this.opts.onSettled?.(d, outcome, record);
    } catch (err) {
      this.reportError(err, 'onSettled', d.id);
    }
  }
}
