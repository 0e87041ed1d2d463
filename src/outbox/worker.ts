/**
 * The delivery worker: claims due deliveries (./store.ts), sends each through its channel (WEBHOOK:
 * ./webhook.ts; LTI_SCORE: src/lti/deliver.ts; XAPI: src/xapi/send.ts) with up to `concurrency` in
 * flight (of which one organisation holds at most half, one endpoint at most 2: one whose receivers
 * never answer cannot stall the others), and records every attempt: one queue, one lease and fencing, one backoff, one attempt log. It runs in
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
import type { XapiConfig } from '../config.js';
import { DEFAULT_XAPI_IRI_BASE } from '../config.js';
import { attemptLtiScore } from '../lti/deliver.js';
import { guardedPost } from '../lti/http.js';
import { LtiTokenClient } from '../lti/token.js';
import { attemptXapiStatement } from '../xapi/send.js';
import { attemptWebhook, type WebhookSettings } from './webhook.js';
import { retryOrFail } from './schedule.js';
import {
  claimDeliveries, countClaimableDeliveries, deleteOldEvents, extendDeliveryLease, inFlightCaps, recordAttempt,
  type AttemptRecord, type ClaimedDelivery, type InFlightCaps,
} from './store.js';
import { log } from '../ops/log.js';
import { deliveriesSettled } from '../ops/metrics.js';

/** The most HTTP requests one attempt makes (attemptLtiScore: token, post, fresh token, post). */
const MAX_REQUESTS_PER_ATTEMPT = 4;

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
  /** xAPI statements' IRIs and the server-wide LRS (an organisation's own LRS comes first). */
  xapi?: XapiConfig;
  /** A claimed delivery's lease, in seconds; by default every request of an attempt, plus 10 s (leaseSeconds below). */
  leaseSeconds?: number;
  /** Attempts in flight per endpoint and per organisation; by default 2, and half of `concurrency` (at least 1). */
  inFlightCaps?: InFlightCaps;
}

/**
 * Called by an attempt that makes many requests (an erasure's voidings) after each step: renews the
 * delivery's lease when due. False once the delivery is no longer the attempt's (its lease expired
 * and another claim took it): the attempt should stop sending.
 */
export type KeepAlive = () => Promise<boolean>;

/** One attempt of a claimed delivery of one channel; never throws for what the receiver does. */
type ChannelAttempt = (d: ClaimedDelivery, signal: AbortSignal, keepAlive: KeepAlive) => Promise<AttemptRecord>;

const NO_XAPI: XapiConfig = { iriBase: DEFAULT_XAPI_IRI_BASE, accountHomePage: `${DEFAULT_XAPI_IRI_BASE}/lms`, lrs: null };

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
  private readonly channels: Record<string, ChannelAttempt>;

  constructor(options: DeliveryWorkerOptions) {
    if (!(options.concurrency >= 1)) throw new Error('DeliveryWorker concurrency must be at least 1');
    this.opts = options;
    const { prisma, schedule, policy, timeoutMs, random } = options;
    const post = guardedPost(policy, timeoutMs);
    // One token cache per worker: a platform's token serves every score until it nears expiry.
    const lti = { prisma, tokens: new LtiTokenClient(prisma, post), post, schedule, random };
    const xapi = { prisma, xapi: options.xapi ?? NO_XAPI, policy, timeoutMs, schedule, random };
    this.channels = {
      WEBHOOK: (d, signal) => attemptWebhook(prisma, d, options, signal),
      LTI_SCORE: (d, signal) => attemptLtiScore(lti, d, signal),
      XAPI: (d, signal, keepAlive) => attemptXapiStatement(xapi, d, signal, keepAlive),
    };
    this.poller = new Poller(options.pollIntervalMs, options.maxPollBackoffMs ?? 15_000);
    this.workerId = options.workerId ?? `${hostname()}:${process.pid}:deliveries:${randomUUID().slice(0, 8)}`;
  }

  /**
   * A claimed delivery's lease: every request one attempt may make, each up to the request timeout,
   * plus time to load and record it. An LTI score attempt makes up to four (a token, the post, a
   * fresh token after a 401, the post again); a shorter lease let such an attempt outlive it, so a
   * second worker posted the score beside it, and on the last attempt the claim marked the delivery
   * FAILED while the score was in fact accepted. An attempt that makes more requests (an erasure's
   * voidings, any number of them) renews it as it goes (keepAlive).
   */
  private get leaseSeconds(): number {
    return this.opts.leaseSeconds ?? Math.ceil((this.opts.timeoutMs * MAX_REQUESTS_PER_ATTEMPT) / 1000) + 10;
  }

  /** What one organisation and one endpoint may hold of this worker's slots (./store.ts InFlightCaps). */
  private get caps(): InFlightCaps {
    return this.opts.inFlightCaps ?? inFlightCaps(this.opts.concurrency);
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
    else log.error(`delivery worker ${phase}`, { workerId: this.workerId, deliveryId, err });
  }

  /**
   * Up to `free` deliveries: first within the caps, then, when that left slots free, within the
   * spare caps, keeping one slot back (above 2 slots). Kept back, that slot goes at the next poll to a delivery
   * within the caps (another organisation's, typically): a spare claim ranks the oldest due rows,
   * and a busy organisation's backlog of them would otherwise take every slot as it frees.
   */
  private async claim(free: number): Promise<ClaimedDelivery[]> {
    const { prisma, schedule } = this.opts;
    const caps = this.caps;
    const claimed = await claimDeliveries(prisma, this.workerId, this.leaseSeconds, free, schedule.maxAttempts, caps);
    // With 2 slots or fewer, keeping one back would leave a lone organisation half the worker.
    const spareSlots = free - claimed.length - (this.opts.concurrency > 2 ? 1 : 0);
    if (!caps.spare || spareSlots <= 0 || this.stopping || !this.atACap(claimed, caps)) return claimed;
    try {
      return [...claimed, ...(await claimDeliveries(prisma, this.workerId, this.leaseSeconds, spareSlots, schedule.maxAttempts, caps.spare))];
    } catch (err) {
      // The first claim is committed: its deliveries must run, not wait out their lease.
      this.reportError(err, 'spare claim');
      return claimed;
    }
  }

  /**
   * Whether an organisation or endpoint holds its strict cap of this worker's attempts (those in
   * flight and those just claimed, the rows the claim counts): only then can the strict claim have
   * left due deliveries behind, and a second claim is worth its statement (idle polls make none).
   */
  private atACap(claimed: readonly ClaimedDelivery[], caps: InFlightCaps): boolean {
    const perOrg = new Map<string, number>();
    const perEndpoint = new Map<string, number>();
    for (const d of [...[...this.running.values()].map((r) => r.delivery), ...claimed]) {
      perOrg.set(d.organizationId, (perOrg.get(d.organizationId) ?? 0) + 1);
      if (d.webhookEndpointId) perEndpoint.set(d.webhookEndpointId, (perEndpoint.get(d.webhookEndpointId) ?? 0) + 1);
    }
    return [...perOrg.values()].some((n) => n >= caps.perOrganization) || [...perEndpoint.values()].some((n) => n >= caps.perEndpoint);
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      this.poller.beginPoll();
      let idle = false;
      try {
        const free = this.opts.concurrency - this.running.size;
        if (free > 0) {
          const claimedAt = performance.now();
          const claimed = await this.claim(free);
          for (const d of claimed) {
            if (this.stopping) {
              await recordAttempt(this.opts.prisma, d, this.workerId, {
                verdict: { kind: 'release' }, startedAt: new Date(), durationMs: 0, statusCode: null, errorCode: null, error: null, responseBody: null,
              }).catch((err) => this.reportError(err, 'release', d.id));
              continue;
            }
            this.launch(d, claimedAt);
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

  private launch(d: ClaimedDelivery, claimedAt: number): void {
    const controller = new AbortController();
    const entry: InFlight = { delivery: d, controller, done: Promise.resolve() };
    this.running.set(d.id, entry);
    entry.done = this.attempt(d, controller.signal, this.keepAlive(d, claimedAt))
      .catch((err) => this.reportError(err, 'attempt', d.id))
      .finally(() => {
        if (this.running.get(d.id) === entry) this.running.delete(d.id);
        this.wake(); // a slot is free
      });
  }

  /**
   * An attempt that failed inside this server (not the receiver's answer): admins read the attempt
   * log, so it says where to look, and the cause (SQL, paths) is logged with the delivery's id.
   */
  private static readonly INTERNAL = 'The attempt failed inside the server before a request was sent; its log has the cause under this delivery\'s id.';

  /**
   * The attempt's KeepAlive: renews the lease once a quarter of it has passed since the claim (timed
   * from before the claim's statement) or the last renewal, so that a step between two calls (at
   * most three requests, each within the request timeout: src/xapi/voiding.ts) always ends inside
   * the lease: with the default lease (4 request timeouts + 10 s), a quarter of it and three
   * requests more still fit. Fenced by the attempt number; a renewal the database could not make is
   * tried again at the next call.
   */
  private keepAlive(d: ClaimedDelivery, claimedAt: number): KeepAlive {
    let renewedAt = claimedAt;
    let lost = false;
    return async () => {
      if (lost) return false;
      if (performance.now() - renewedAt < (this.leaseSeconds * 1000) / 4) return true;
      const asked = performance.now();
      try {
        if (!(await extendDeliveryLease(this.opts.prisma, d, this.workerId, this.leaseSeconds))) {
          lost = true;
          return false;
        }
        renewedAt = asked;
      } catch (err) {
        this.reportError(err, 'renew lease', d.id);
      }
      return true;
    };
  }

  private async attempt(d: ClaimedDelivery, signal: AbortSignal, keepAlive: KeepAlive): Promise<void> {
    let record: AttemptRecord;
    try {
      const send = this.channels[d.channel];
      if (!send) throw new Error(`no sender for channel ${d.channel}`);
      record = await send(d, signal, keepAlive);
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
          // The backoff of any failed attempt: a fault that lasts (a corrupt row) is not retried every few seconds.
          verdict: retryOrFail(d.attempts, this.opts.schedule, null, this.opts.random),
          startedAt: new Date(), durationMs: 0, statusCode: null, errorCode: 'INTERNAL_ERROR', error: DeliveryWorker.INTERNAL, responseBody: null,
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
    deliveriesSettled.inc({ channel: d.channel.toLowerCase(), outcome });
    try {
      this.opts.onSettled?.(d, outcome, record);
    } catch (err) {
      this.reportError(err, 'onSettled', d.id);
    }
  }
}
