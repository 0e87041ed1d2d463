/**
 * Fans the process's change notifications out to its subscriptions. When the LISTEN connection
 * comes back after a drop, the hub re-reads from the database what changed while it was down
 * (`catchUp`, notify.ts's changesSince) and publishes it like notifications, so no change is lost to
 * a reconnect (a subscriber may hear a job's current status twice). Each subscription gets an
 * async iterator of the events its filter accepts, buffered in order; one that falls more than
 * MAX_BUFFERED events behind (a client that stopped reading) is ended with an error rather than
 * holding memory without bound.
 */
import { AppError } from '../errors.js';
import { parseChangeEvent, type ChangeEvent } from './notify.js';
import type { ListenOptions, NotificationListener, OnNotification } from './listener.js';
import { log } from '../ops/log.js';

/** Re-read from this much before the drop: rows carry the database's and other processes' clocks. */
export const CATCH_UP_MARGIN_MS = 5_000;

export interface HubOptions {
  /** The missed changes' payloads since a time (notify.ts's changesSince on the process's database). */
  catchUp?: (since: Date) => Promise<string[]>;
  reconnectMs?: number;
  onError?: (err: unknown) => void;
}

export const MAX_BUFFERED = 1000;

interface Subscriber {
  accepts(event: ChangeEvent): boolean;
  push(event: ChangeEvent): void;
  end(error?: Error): void;
}

export class EventHub {
  private readonly subscribers = new Set<Subscriber>();
  private listener: NotificationListener | null = null;
  private closed = false;

  /** Start listening (`listen` is Database.listen). */
  async start(
    listen: (onNotification: OnNotification, options?: ListenOptions) => Promise<NotificationListener>,
    options: HubOptions = {},
  ): Promise<void> {
    this.listener = await listen((payload) => this.publish(payload), {
      reconnectMs: options.reconnectMs,
      onReconnected: (downSince) => void this.catchUp(options, downSince),
    });
  }

  private async catchUp(options: HubOptions, downSince: Date): Promise<void> {
    if (!options.catchUp || this.closed) return;
    try {
      const missed = await options.catchUp(new Date(downSince.getTime() - CATCH_UP_MARGIN_MS));
      for (const payload of missed) this.publish(payload);
    } catch (err) {
      (options.onError ?? ((e) => log.error('subscription catch-up after a reconnect failed', { err: e })))(err);
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
    for (const s of this.subscribers) if (s.accepts(event)) s.push(event);
  }

  /** Events `accepts` lets through, from now on, until the iterator is returned or the hub closes. */
  subscribe(accepts: (event: ChangeEvent) => boolean): AsyncIterableIterator<ChangeEvent> {
    const buffer: ChangeEvent[] = [];
    let waiting: ((r: IteratorResult<ChangeEvent>) => void) | null = null;
    let failWaiting: ((e: Error) => void) | null = null;
    let done = false;
    let failure: Error | null = null;
    const subscribers = this.subscribers;

    const subscriber: Subscriber = {
      accepts,
      push(event) {
        if (done) return;
        if (waiting) {
          const resolve = waiting;
          waiting = failWaiting = null;
          resolve({ value: event, done: false });
          return;
        }
        if (buffer.length >= MAX_BUFFERED) {
          subscriber.end(new AppError('SERVICE_UNAVAILABLE', `The subscription fell more than ${MAX_BUFFERED} events behind and was ended; subscribe again.`));
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
