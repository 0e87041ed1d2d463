/**
 * One LISTEN connection per API process, feeding the in-process hub (./hub.ts).
 *
 * - PostgreSQL: a dedicated `pg.Client` (not from the pool: a pooled connection is handed to other
 *   queries and would lose its LISTEN). When it drops (server restart, network, a terminated
 *   backend), it reconnects with a growing delay (0.5 s doubling up to 10 s by default). NOTIFY
 *   keeps nothing for absent listeners, so once LISTENing again it calls `onReconnected` with when
 *   it went down, and the hub re-reads what changed since from the database (./hub.ts).
 * - PGlite (one process): PGlite's own LISTEN/NOTIFY on the instance Prisma uses, which delivers a
 *   notification once the transaction that sent it commits, like PostgreSQL.
 */
import pg from 'pg';
import type { PGlite } from '@electric-sql/pglite';
import { CHANNEL_SQL } from './notify.js';
import { log } from '../ops/log.js';

export interface NotificationListener {
  close(): Promise<void>;
}

export type OnNotification = (payload: string | undefined) => void;

export interface ListenOptions {
  /** The first reconnect delay (ms), doubling up to RECONNECT_MAX_MS. */
  reconnectMs?: number;
  /** LISTENing again after a drop; `downSince` is when the connection was lost (this process's clock). */
  onReconnected?: (downSince: Date) => void;
}

/** The channel this connection's schema notifies on (see notify.ts). */
const CHANNEL_QUERY = `SELECT ${CHANNEL_SQL} AS "channel"`;

const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 10_000;

/** `clientConfig`: the pool's connection string and options (search_path), so the schema matches. */
export async function listenPostgres(clientConfig: pg.ClientConfig, onNotification: OnNotification, options: ListenOptions = {}): Promise<NotificationListener> {
  const firstDelay = options.reconnectMs ?? RECONNECT_MIN_MS;
  let client: pg.Client | null = null;
  let closed = false;
  let delay = firstDelay;
  let timer: NodeJS.Timeout | null = null;
  /** Set when the connection drops, cleared once LISTENing again. */
  let downSince: Date | null = null;

  const connect = async (): Promise<void> => {
    const c = new pg.Client(clientConfig);
    c.on('notification', (msg) => onNotification(msg.payload));
    c.on('error', () => undefined); // followed by 'end', which reconnects
    c.on('end', () => {
      if (client === c) client = null;
      downSince ??= new Date();
      if (!closed) scheduleReconnect();
    });
    await c.connect();
    try {
      const { rows } = await c.query<{ channel: string }>(CHANNEL_QUERY);
      await c.query(`LISTEN "${rows[0]!.channel}"`);
    } catch (e) {
      await c.end().catch(() => undefined);
      throw e;
    }
    if (closed) {
      await c.end().catch(() => undefined);
      return;
    }
    client = c;
    delay = firstDelay;
    if (downSince) {
      const since = downSince;
      downSince = null;
      options.onReconnected?.(since);
    }
  };

  const scheduleReconnect = () => {
    if (timer || closed) return;
    const wait = delay;
    delay = Math.min(RECONNECT_MAX_MS, delay * 2);
    log.warn('subscription listener disconnected; reconnecting', { reconnectInMs: wait });
    timer = setTimeout(() => {
      timer = null;
      connect().catch(() => scheduleReconnect());
    }, wait);
    timer.unref();
  };

  await connect();
  return {
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      await client?.end().catch(() => undefined);
      client = null;
    },
  };
}

export async function listenPglite(db: PGlite, onNotification: OnNotification): Promise<NotificationListener> {
  const { rows } = await db.query<{ channel: string }>(CHANNEL_QUERY);
  const unlisten = await db.listen(rows[0]!.channel, (payload) => onNotification(payload));
  return {
    async close() {
      if (!db.closed) await unlisten().catch(() => undefined);
    },
  };
}
