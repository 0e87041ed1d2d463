/**
 * Fans the process's change notifications out to its subscriptions. Each subscription gets an async
 * iterator of the events its filter accepts, buffered in order; one that falls more than
 * MAX_BUFFERED events behind (a client that stopped reading) is ended with an error
 * (SERVICE_UNAVAILABLE: subscribe again) rather than holding memory without bound.
 *
 * The replay: NOTIFY keeps nothing for an absent listener, so when the LISTEN connection comes back
 * after a drop the hub re-reads from the database what changed meanwhile (`catchUp`, notify.ts's
 * changesSince) and sends it to the subscriptions:
 * - only the learners that subscriptions follow are read, and each replayed change says whose it
 *   is, so it is filtered before it is queued (another learner's burst does not overflow a
 *   learner's subscription) and nobody looks its utterance up again per subscription;
 * - a learner with more missed changes than a subscription may hold, or a replay that cannot be
 *   read (within CATCH_UP_TIMEOUT_MS), ends the learner's (or every) subscription with that same overflow error: the subscriber
 *   is told, rather than silently missing events, and reads the current state with a query;
 * - what was sent live is not sent again (the replay starts a little before the drop, as rows carry
 *   other clocks): the last status sent of each job and the ids of assessments sent are remembered
 *   for RECENT_MS, once a subscriber got them; a notification is never left out for it (each is a
 *   commit of its own);
 * - a subscription gets only changes from after it started (less SUBSCRIBED_GRACE_MS, as much as
 *   the replay reaches back before the drop);
 * - notifications that arrive from the drop until the replay is sent are held back and sent after
 *   it, less those the replay already carried: each subscription sees the replay, then live events.
 */
import { AppError } from '../errors.js';
import { parseChangeEvent, type ChangeEvent, type MissedChanges } from './notify.js';
import type { ListenOptions, NotificationListener, OnNotification } from './listener.js';
import { log } from '../ops/log.js';

/** Re-read from this much before the drop: rows carry the database's and other processes' clocks. */
export const CATCH_UP_MARGIN_MS = 5_000;

/**
 * A replayed change reaches a subscription if it happened at most this long before the subscription
 * started: a row's time is when its transaction began (completeJob's finishedAt is set before the
 * result is written) on the database's clock, and a transaction that began before the subscribe may
 * commit after it, which is news to the subscriber. As much as the replay itself allows for the
 * same reasons before the drop: a subscription made during the outage is held to no stricter a
 * clock than one made before it (what it may get from before it started is a repeat, never a loss).
 */
export const SUBSCRIBED_GRACE_MS = CATCH_UP_MARGIN_MS;

/**
 * How long what was sent is remembered, to leave it out of a replay: longer than a replay reaches
 * back before the drop (CATCH_UP_MARGIN_MS, and up to a check interval, 15 s, from the last sign
 * of life to the drop). At most MAX_RECENT keys: past that, a repeat is possible, never a loss.
 */
const RECENT_MS = 60_000;
const MAX_RECENT = 20_000;

/**
 * How long a replay's read may take before it is given up (as a read that failed): after a failover
 * a pooled connection can be left half-open, and its query would wait for minutes while every
 * notification is held back behind it.
 */
export const CATCH_UP_TIMEOUT_MS = 30_000;

/** Notifications held back while a replay is read; one more ends every subscription with the overflow error. */
const MAX_HELD = 10_000;

export const MAX_BUFFERED = 1000;

export interface HubOptions {
  /** These learners' missed changes since a time (notify.ts's changesSince on the process's database). */
  catchUp?: (since: Date, learnerIds: string[]) => Promise<MissedChanges>;
  reconnectMs?: number;
  /** How long the replay's read may take (CATCH_UP_TIMEOUT_MS by default). */
  catchUpTimeoutMs?: number;
  onError?: (err: unknown) => void;
}

/** The one way a subscription is told it cannot be complete: SERVICE_UNAVAILABLE, subscribe again. */
const overflow = (why: string) => new AppError('SERVICE_UNAVAILABLE', `${why}; subscribe again.`);

interface Subscriber {
  accepts(event: ChangeEvent): boolean;
  push(event: ChangeEvent): void;
  end(error?: Error): void;
  /** The learner whose changes it follows: what the replay reads for it. */
  learnerId: string | undefined;
  /**
   * When it started, on the monotonic clock (performance.now()): no live notification that arrived
   * before reaches it. Not the wall clock, which can step back (NTP, a VM resumed) and would keep
   * live events from it until it caught up.
   */
  since: number;
  /** When it started, on the wall clock (Date.now()): only to compare with rows' times in a replay. */
  sinceWall: number;
}

/**
 * `read`, or a failure once `ms` have passed. The read itself cannot be cancelled (a query on a
 * dead socket ends when the pool notices); its late result or failure is ignored.
 */
async function withTimeout<T>(read: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the replay's read took longer than ${ms} ms`)), ms);
  });
  read.catch(() => undefined);
  try {
    return await Promise.race([read, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * What makes an event a repeat: the same key with the same value (a job's status and attempts, so
 * a job reclaimed, RUNNING again, is news; an assessment is its id alone).
 */
function identity(e: ChangeEvent): [key: string, value: string] {
  return e.type === 'job' ? [`job:${e.jobId}`, `${e.status}:${e.attempts ?? ''}`] : [`assessment:${e.assessmentId}`, ''];
}

interface Held {
  event: ChangeEvent;
  /** performance.now() on arrival. */
  at: number;
  /** The drop it arrived after (EventHub.drops then). */
  drop: number;
}

export class EventHub {
  private readonly subscribers = new Set<Subscriber>();
  private listener: NotificationListener | null = null;
  private closed = false;
  /** Sent (live or replayed), by identity key: the value sent and when; insertion order is age. */
  private readonly recent = new Map<string, { value: string; at: number }>();
  /** Notifications held back from a drop until its replay is sent; null while none is pending. */
  private held: Held[] | null = null;
  /** Drops so far: a replay releases what arrived up to its own drop, not what came after a later one. */
  private drops = 0;
  /** Replays run one after another, in the order of the reconnects. */
  private replays: Promise<void> = Promise.resolve();

  /** Start listening (`listen` is Database.listen). */
  async start(
    listen: (onNotification: OnNotification, options?: ListenOptions) => Promise<NotificationListener>,
    options: HubOptions = {},
  ): Promise<void> {
    this.listener = await listen((payload) => this.publish(payload), {
      reconnectMs: options.reconnectMs,
      onDisconnected: () => {
        this.drops++;
        this.held ??= [];
      },
      onReconnected: (downSince) => {
        const drop = this.drops;
        this.replays = this.replays.then(() => this.catchUp(options, downSince, drop));
      },
    });
  }

  /** The replay after drop number `drop` (see the module comment), then what was held back behind it. */
  private async catchUp(options: HubOptions, downSince: Date, drop: number): Promise<void> {
    // Those subscribed when the read starts: one that subscribes later hears the rest live.
    const replayed = [...this.subscribers];
    const readAt = performance.now();
    /** Who got some state of each identity key from the replay (its state when read supersedes older ones). */
    const carried = new Map<string, Set<Subscriber>>();
    /** Who got each event (key and value) from the replay: a notification of the same is a repeat to them. */
    const sentTo = new Map<string, Set<Subscriber>>();
    try {
      if (!options.catchUp || this.closed) return;
      const learners = [...new Set(replayed.flatMap((s) => (s.learnerId ? [s.learnerId] : [])))];
      const read = options.catchUp(new Date(downSince.getTime() - CATCH_UP_MARGIN_MS), learners);
      const { changes, overflowed } = await withTimeout(read, options.catchUpTimeoutMs ?? CATCH_UP_TIMEOUT_MS);
      const over = new Set(overflowed);
      for (const s of replayed) {
        if (s.learnerId && over.has(s.learnerId)) s.end(overflow(`More than ${MAX_BUFFERED} changes were missed while the server reconnected to the database`));
      }
      for (const { event, at } of changes) {
        const [key, value] = identity(event);
        // Sent before the drop. A held notification of the same state is a later commit (a job
        // reclaimed is RUNNING again), so this is not carried: that one is sent.
        if (this.recent.get(key)?.value === value) continue;
        let sent = false;
        for (const s of replayed) {
          if (s.learnerId === event.learnerId && at.getTime() >= s.sinceWall - SUBSCRIBED_GRACE_MS && s.accepts(event)) {
            s.push(event);
            sent = true;
            carried.set(key, (carried.get(key) ?? new Set()).add(s));
            const got = sentTo.get(`${key}\0${value}`) ?? new Set();
            sentTo.set(`${key}\0${value}`, got.add(s));
          }
        }
        // Only what somebody got: a change nobody took must not pass for sent when it comes again.
        if (sent) this.remember(key, value);
      }
    } catch (err) {
      // What was missed is unknown: every subscription is told, rather than left to miss it.
      for (const s of replayed) s.end(overflow('The changes missed while the server reconnected to the database could not be read'));
      (options.onError ?? ((e) => log.error('subscription catch-up after a reconnect failed', { err: e })))(err);
    } finally {
      this.release(drop, readAt, carried, sentTo);
    }
  }

  /**
   * Sends what was held back up to drop `drop`, now that its replay is sent: each event once. One
   * that arrived before the replay was read committed before it, so the replay's (later) state of
   * the same job or assessment supersedes it for those the replay sent a state of it (`carried`); a
   * subscriber the replay left out (the row dated before the subscription, by a transaction that
   * began earlier) still gets the notification. What arrived after a later drop waits for its replay.
   * One that arrived after the read started may be news the replay did not see: it is sent, except
   * to a subscriber the replay sent the very same event (`sentTo`). A held notification is not
   * compared with what was sent before (`recent`): each is a commit of its own, and what the replay
   * left out for a subscriber (before it started, or remembered but not sent to it) may be news to it.
   */
  private release(
    drop: number, readAt: number, carried: ReadonlyMap<string, ReadonlySet<Subscriber>>, sentTo: ReadonlyMap<string, ReadonlySet<Subscriber>>,
  ): void {
    const held = this.held ?? [];
    this.held = this.drops > drop ? held.filter((h) => h.drop > drop) : null;
    for (const h of held) {
      if (h.drop > drop) continue;
      const [key, value] = identity(h.event);
      this.deliver(h.event, h.at, h.at < readAt ? carried.get(key) : sentTo.get(`${key}\0${value}`));
    }
  }

  /** Remembers what was sent, for RECENT_MS and at most MAX_RECENT keys. */
  private remember(key: string, value: string): void {
    const now = performance.now();
    this.recent.delete(key);
    this.recent.set(key, { value, at: now });
    for (const [k, v] of this.recent) {
      if (this.recent.size <= MAX_RECENT && v.at >= now - RECENT_MS) break;
      this.recent.delete(k);
    }
  }

  /** Ends every subscription (their clients get `complete`) and the LISTEN connection. */
  async close(): Promise<void> {
    this.closed = true;
    for (const s of [...this.subscribers]) s.end();
    await this.listener?.close();
    this.listener = null;
  }

  get size(): number {
    return this.subscribers.size;
  }

  private publish(payload: string | undefined): void {
    const event = parseChangeEvent(payload);
    if (!event) return;
    if (!this.held) {
      this.deliver(event, performance.now());
      return;
    }
    if (this.held.length >= MAX_HELD) {
      // Holding more would cost memory without bound; sending now would break the order.
      for (const s of [...this.subscribers]) s.end(overflow(`More than ${MAX_HELD} changes arrived while the server caught up after a reconnect`));
      this.held.length = 0;
      return;
    }
    this.held.push({ event, at: performance.now(), drop: this.drops });
  }

  /** An event that arrived at `at` (performance.now()), to the subscriptions that had started by then (less those that `got` it). */
  private deliver(event: ChangeEvent, at: number, got?: ReadonlySet<Subscriber>): void {
    let sent = false;
    for (const s of this.subscribers) {
      if (s.since <= at && !got?.has(s) && s.accepts(event)) {
        s.push(event);
        sent = true;
      }
    }
    if (sent) this.remember(...identity(event));
  }

  /**
   * Events `accepts` lets through, from now on, until the iterator is returned or the hub closes.
   * `learnerId`: the learner whose changes it follows, for the replay after a reconnect (without
   * one, a subscription hears only notifications).
   */
  subscribe(accepts: (event: ChangeEvent) => boolean, scope: { learnerId?: string } = {}): AsyncIterableIterator<ChangeEvent> {
    const buffer: ChangeEvent[] = [];
    let waiting: ((r: IteratorResult<ChangeEvent>) => void) | null = null;
    let failWaiting: ((e: Error) => void) | null = null;
    let done = false;
    let failure: Error | null = null;
    const subscribers = this.subscribers;

    const subscriber: Subscriber = {
      accepts,
      learnerId: scope.learnerId,
      since: performance.now(),
      sinceWall: Date.now(),
      push(event) {
        if (done) return;
        if (waiting) {
          const resolve = waiting;
          waiting = failWaiting = null;
          resolve({ value: event, done: false });
          return;
        }
        if (buffer.length >= MAX_BUFFERED) {
          subscriber.end(overflow(`The subscription fell more than ${MAX_BUFFERED} events behind and was ended`));
          return;
        }
        buffer.push(event);
      },
      end(error) {
        if (done) return;
        done = true;
        subscribers.delete(subscriber);
        if (error) failure = error;
        if (waiting) {
          const [resolve, reject] = [waiting, failWaiting!];
          waiting = failWaiting = null;
          if (error) reject(error);
          else resolve({ value: undefined, done: true });
        }
      },
    };
    // After close (a subscribe racing the server's stop): an iterator that is already done.
    if (this.closed) done = true;
    else subscribers.add(subscriber);

    const iterator: AsyncIterableIterator<ChangeEvent> = {
      next() {
        const queued = buffer.shift();
        if (queued) return Promise.resolve({ value: queued, done: false });
        if (failure) return Promise.reject(failure);
        if (done) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve, reject) => {
          waiting = resolve;
          failWaiting = reject;
        });
      },
      return() {
        subscriber.end();
        buffer.length = 0;
        return Promise.resolve({ value: undefined, done: true });
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  }
}
