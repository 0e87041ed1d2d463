/**
 * A webhook receiver for tests: a real HTTP server on 127.0.0.1 that records every request (headers,
 * exact body bytes, arrival time) and answers as the test says: a status, a delay, a Retry-After,
 * or "down" (the port refuses connections, as a stopped receiver's does).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
  at: number;
  /** The status it was answered with. */
  status: number;
}

export interface Answer {
  status: number;
  delayMs?: number;
  retryAfter?: string;
  body?: string;
  /** Send the status and the start of the body, then never finish. */
  stallBody?: boolean;
}

export class Receiver {
  readonly received: Received[] = [];
  /** How to answer the next request (may look at it). */
  answer: (req: { headers: http.IncomingHttpHeaders; body: string }) => Answer = () => ({ status: 204 });
  private server: http.Server | null = null;
  private port = 0;
  private sockets = new Set<import('node:net').Socket>();
  private waiters: { n: number; resolve: () => void }[] = [];

  async start(port = 0): Promise<this> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const a = this.answer({ headers: req.headers, body });
        const reply = () => {
          if (res.destroyed) return;
          this.received.push({ headers: req.headers, body, at: Date.now(), status: a.status });
          res.writeHead(a.status, a.retryAfter ? { 'retry-after': a.retryAfter } : {});
          if (a.stallBody) res.write(a.body ?? 'partial');
          else res.end(a.body ?? '');
          for (const w of this.waiters.splice(0)) {
            if (this.received.length >= w.n) w.resolve();
            else this.waiters.push(w);
          }
        };
        if (a.delayMs) setTimeout(reply, a.delayMs).unref();
        else reply();
      });
    });
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => this.server!.listen(port || this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks`;
  }

  /** Stops listening and drops open connections: the port refuses until start() again. */
  async stop(): Promise<void> {
    if (!this.server) return;
    const server = this.server;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Resolves once `n` requests have been answered in all. */
  waitForCount(n: number, timeoutMs = 30_000): Promise<void> {
    if (this.received.length >= n) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`receiver: ${this.received.length} of ${n} requests after ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({ n, resolve: () => (clearTimeout(t), resolve()) });
    });
  }

  /** Requests answered 2xx, parsed. */
  delivered(): { id: string; type: string; data: any; headers: http.IncomingHttpHeaders; body: string; at: number }[] {
    return this.received
      .filter((r) => r.status >= 200 && r.status < 300)
      .map((r) => ({ id: String(r.headers['webhook-id']), ...JSON.parse(r.body), headers: r.headers, body: r.body, at: r.at }));
  }
}

/** Verifies a received request with the reference Standard Webhooks library (throws when invalid). */
export function verifyStandardWebhook(secret: string, r: { headers: http.IncomingHttpHeaders; body: string }): unknown {
  return new Webhook(secret).verify(r.body, {
    'webhook-id': String(r.headers['webhook-id']),
    'webhook-timestamp': String(r.headers['webhook-timestamp']),
    'webhook-signature': String(r.headers['webhook-signature']),
  });
}
