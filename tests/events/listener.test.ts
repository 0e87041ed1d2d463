/**
 * The PostgreSQL LISTEN connection (src/events/listener.ts) through a real TCP link that can go
 * silent: a connection cut without a reset (a NAT or load balancer dropping an idle flow, a failover)
 * sends no 'end', so only the listener's check query notices it. It must reconnect, report from when
 * it last knew the connection worked, and hear notifications again.
 */
import net from 'node:net';
import pg from 'pg';
import { listenPostgres } from '../../src/events/listener.js';
import { parsePostgresUrl, quoteIdent } from '../../src/db/client.js';
import { CHANNEL_SQL } from '../../src/events/notify.js';
import { describeEachDatabase } from '../support/db.js';
import { waitFor } from '../jobs/fixtures.js';

/** A TCP link to PostgreSQL whose open connections can be made to drop every byte, both ways, without closing. */
class SilentLink {
  private silent = new Set<net.Socket>();
  private sockets: net.Socket[] = [];
  private server = net.createServer((client) => {
    const upstream = net.connect(this.target.port, this.target.host);
    this.sockets.push(client, upstream);
    const forward = (from: net.Socket, to: net.Socket) => from.on('data', (chunk) => { if (!this.silent.has(from)) to.write(chunk); });
    forward(client, upstream);
    forward(upstream, client);
    for (const s of [client, upstream]) s.on('error', () => undefined).on('close', () => { client.destroy(); upstream.destroy(); });
  });
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this;
  }

  /** Every connection open now goes silent; new ones work. */
  silenceOpenConnections(): void {
    for (const s of this.sockets) this.silent.add(s);
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

describeEachDatabase('the LISTEN connection', (ctx) => {
  test('cut without a reset: the check notices, it reconnects, reports from when it last worked, and hears again', async () => {
    const { connectionString, schema } = parsePostgresUrl(ctx.db.url!);
    const target = new URL(connectionString);
    const link = await new SilentLink({ host: target.hostname, port: Number(target.port || 5432) }).start();
    const viaLink = new URL(connectionString);
    viaLink.hostname = '127.0.0.1';
    viaLink.port = String(link.port);
    const heard: string[] = [];
    const reconnects: Date[] = [];
    const listener = await listenPostgres(
      { connectionString: viaLink.toString(), ...(schema ? { options: `-c search_path=${quoteIdent(schema)}` } : {}) },
      (payload) => heard.push(payload ?? ''),
      { reconnectMs: 50, heartbeatMs: 300, onReconnected: (since) => reconnects.push(since) },
    );
    const notifier = new pg.Client({ connectionString, ...(schema ? { options: `-c search_path=${quoteIdent(schema)}` } : {}) });
    await notifier.connect();
    try {
      await notifier.query(`SELECT pg_notify(${CHANNEL_SQL}, 'before')`);
      await waitFor(async () => heard.includes('before'), 5000, 20);
      const silencedAt = Date.now();
      link.silenceOpenConnections();
      await notifier.query(`SELECT pg_notify(${CHANNEL_SQL}, 'lost')`); // sent into the silent link
      await waitFor(async () => reconnects.length === 1, 10_000, 20);
      // From the last moment it knew the connection worked: at or before the silence began.
      expect(reconnects[0]!.getTime()).toBeLessThanOrEqual(silencedAt);
      expect(heard).not.toContain('lost'); // the hub re-reads what changed since then instead
      await notifier.query(`SELECT pg_notify(${CHANNEL_SQL}, 'after')`);
      await waitFor(async () => heard.includes('after'), 5000, 20);
    } finally {
      await notifier.end();
      await listener.close();
      await link.stop();
    }
  });
}, { kinds: ['postgres'] });
