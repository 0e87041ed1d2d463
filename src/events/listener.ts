/**
 * One LISTEN connection per API process, feeding the in-process hub (./hub.ts).
 *
 * - PostgreSQL: a dedicated `pg.Client` (not from the pool: a pooled connection is handed to other
 *   queries and would lose its LISTEN). When it drops (server restart, network, a terminated
 *   backend, or a check query unanswered: a connection cut without a reset), it reconnects with a
 *   growing delay (0.5 s doubling up to 10 s by default). NOTIFY
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
  /**
   * How often the connection is checked with a query (ms; HEARTBEAT_MS by default). A LISTEN
   * connection only ever receives, so one cut without a reset (a NAT or load balancer dropping an
   * idle flow, a failover) would otherwise never end: a check unanswered within the same time ends it.
   */
  heartbeatMs?: number;
  /**
   * The connection dropped (once per outage, before the reconnect's `onReconnected`): what arrives
   * from now until the replay is done is held back so that it comes after the replay.
   */
  onDisconnected?: () => void;
  /**
   * LISTENing again after a drop; `downSince` is the last moment the connection was known to work
   * (connected, a check answered, a notification received; this process's clock).
   */
  onReconnected?: (downSince: Date) => void;
}

/** The channel this connection's schema notifies on (see notify.ts). */
const CHANNEL_QUERY = `SELECT ${CHANNEL_SQL} AS "channel"`;

const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 10_000;
const HEARTBEAT_MS = 15_000;

/** `clientConfig`: the pool's connection string and options (search_path), so the schema matches. */
export async function listenPostgres(clientConfig: pg.ClientConfig, onNotification: OnNotification, options: ListenOptions = {}): Promise<NotificationListener> {
  const firstDelay = options.reconnectMs ?? RECONNECT_MIN_MS;
  let client: pg.Client | null = null;
  let closed = false;
  let delay = firstDelay;
  let timer: NodeJS.Timeout | null = null;
  /** Set when the connection drops, cleared once LISTENing again. */
  let downSince: Date | null = null;
  /** The last moment the connection was known to work: what was missed is re-read from there. */
  let aliveAt = new Date();
  const heartbeatMs = options.heartbeatMs ?? HEARTBEAT_MS;
  let heartbeat: NodeJS.Timeout | null = null;
  /** `LISTEN "<channel>"`, once known. */
  let listenStatement = '';

  const connect = async (): Promise<void> => {
    // TCP keepalive too, so the kernel also notices a dead peer on an idle connection.
    const c = new pg.Client({ ...clientConfig, keepAlive: true, keepAliveInitialDelayMillis: 10_000 });
    c.on('notification', (msg) => {
      aliveAt = new Date();
      onNotification(msg.payload);
    });
    c.on('error', () => undefined); // followed by 'end', which reconnects
    c.on('end', () => {
      if (client === c) client = null;
      if (!downSince) {
        downSince = aliveAt;
        options.onDisconnected?.();
      }
      if (!closed) scheduleReconnect();
    });
    await c.connect();
    try {
      const { rows } = await c.query<{ channel: string }>(CHANNEL_QUERY);
      listenStatement = `LISTEN "${rows[0]!.channel}"`;
      await c.query(listenStatement);
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
    aliveAt = new Date();
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

  /** A query on the LISTEN connection; unanswered within heartbeatMs, the connection is cut, which reconnects. */
  const check = async () => {
    const c = client;
    if (!c || closed) return;
    let answered = false;
    const cut = setTimeout(() => {
      // After the I/O of this turn: a process stalled past heartbeatMs runs its timers before it
      // reads the answer already waiting on the socket, and must not cut a healthy connection for it.
      setImmediate(() => {
        if (answered || client !== c) return;
        log.warn('subscription listener did not answer its check; reconnecting', { heartbeatMs });
        // end() would wait for the dead peer; destroying the socket ends the client at once.
        (c as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
      });
    }, heartbeatMs);
    cut.unref();
    try {
      // LISTEN again rather than SELECT 1: a no-op on a channel already listened to, and the
      // connection's pg_stat_activity.query stays what identifies the listener to an operator.
      await c.query(listenStatement);
      answered = true;
      if (client === c) aliveAt = new Date();
    } catch {
      // The connection failed: 'end' follows and reconnects.
    } finally {
      clearTimeout(cut);
    }
  };

  await connect();
  heartbeat = setInterval(() => void check(), heartbeatMs);
  heartbeat.unref();
  return {
    async close() {
      closed = true;
      if (heartbeat) clearInterval(heartbeat);
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
