/**
 * One LISTEN connection per API process, feeding the in-process hub (./hub.ts).
 *
 * - PostgreSQL: a dedicated `pg.Client` (not from the pool: a pooled connection is handed to other
 *   queries and would lose its LISTEN). When it drops (server restart, network), it reconnects with
 *   a growing delay (0.5 s doubling up to 10 s); notifications sent while it was down are lost, as
 *   NOTIFY keeps none for absent listeners.
 * - PGlite (one process): PGlite's own LISTEN/NOTIFY on the instance Prisma uses, which delivers a
 *   notification once the transaction that sent it commits, like PostgreSQL.
 */
import pg from 'pg';
import type { PGlite } from '@electric-sql/pglite';
import { CHANNEL_SQL } from './notify.js';

export interface NotificationListener {
  close(): Promise<void>;
}

export type OnNotification = (payload: string | undefined) => void;

/** The channel this connection's schema notifies on (see notify.ts). */
const CHANNEL_QUERY = `SELECT ${CHANNEL_SQL} AS "channel"`;

const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 10_000;

/** `clientConfig`: the pool's connection string and options (search_path), so the schema matches. */
export async function listenPostgres(clientConfig: pg.ClientConfig, onNotification: OnNotification): Promise<NotificationListener> {
  let client: pg.Client | null = null;
  let closed = false;
  let delay = RECONNECT_MIN_MS;
  let timer: NodeJS.Timeout | null = null;

  const connect = async (): Promise<void> => {
    const c = new pg.Client(clientConfig);
    c.on('notification', (msg) => onNotification(msg.payload));
    c.on('error', () => undefined); // followed by 'end', which reconnects
    c.on('end', () => {
      if (client === c) client = null;
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
    delay = RECONNECT_MIN_MS;
  };

  const scheduleReconnect = () => {
    if (timer || closed) return;
    const wait = delay;
    delay = Math.min(RECONNECT_MAX_MS, delay * 2);
    console.warn(`[speechmark] subscription listener disconnected; reconnecting in ${wait} ms`);
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
