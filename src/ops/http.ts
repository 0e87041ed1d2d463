/**
 * Operations endpoints, for load balancers, orchestrators and Prometheus:
 *
 * - `/healthz`: the process is alive and serving HTTP (no database round trip): 200 {ok: true}.
 * - `/readyz`: it can do its work: the database answers, every migration of this build is applied,
 *   and (unless SPEECHMARK_READY_WORKER_SECONDS is 0) an inference worker's heartbeat was seen
 *   within that window. 200 {ready: true, checks}, or 503 {ready: false, reasons, checks}.
 * - `/metrics`: Prometheus text. Who may read it is a setting: on the API port only with
 *   `Authorization: Bearer $SPEECHMARK_METRICS_TOKEN`; without a token on its own listener
 *   (SPEECHMARK_METRICS_PORT, loopback by default); with neither it is not served (404).
 */
import http from 'node:http';
import { timingSafeEqual, createHash } from 'node:crypto';
import { readdirSync, existsSync } from 'node:fs';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { PrismaClient } from '../generated/prisma/client.js';
import { liveWorkers, servedModelVersions } from '../jobs/heartbeat.js';
import { defaultMigrationsDir } from '../db/client.js';
import { Gauge, httpDuration, metrics } from './metrics.js';
import { log } from './log.js';

export interface ReadinessOptions {
  prisma: PrismaClient;
  /** 0: workers are not part of readiness. */
  readyWorkerSeconds: number;
  /** Longest a check may take before it counts as failed (ms). */
  timeoutMs?: number;
}

export interface Readiness {
  ready: boolean;
  reasons: string[];
  checks: Record<string, string>;
}

/** Migration folders of this build: each must be applied for the process to be ready. */
function migrationNames(): string[] {
  const dir = defaultMigrationsDir();
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
    p.then((v) => (clearTimeout(t), resolve(v)), (e: unknown) => (clearTimeout(t), reject(e)));
  });
}

const firstLine = (e: unknown) => ((e as Error)?.message ?? String(e)).split('\n').filter(Boolean).pop() ?? 'unknown error';

/** The three readiness checks; each failure is one reason. */
export function createReadinessCheck(options: ReadinessOptions): () => Promise<Readiness> {
  const expected = migrationNames();
  const timeoutMs = options.timeoutMs ?? 2_000;
  return async () => {
    const checks: Record<string, string> = {};
    const reasons: string[] = [];
    try {
      const rows = await withTimeout(
        options.prisma.$queryRawUnsafe<{ name: string }[]>(
          `SELECT migration_name AS "name" FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`,
        ),
        timeoutMs,
        'the database',
      );
      checks.database = 'ok';
      const applied = new Set(rows.map((r) => r.name));
      const missing = expected.filter((m) => !applied.has(m));
      checks.migrations = missing.length === 0 ? 'ok' : `${missing.length} not applied`;
      if (missing.length > 0) reasons.push(`migrations not applied: ${missing.join(', ')}`);
    } catch (e) {
      checks.database = 'unreachable';
      reasons.push(`database unreachable: ${firstLine(e)}`);
    }
    if (options.readyWorkerSeconds > 0 && checks.database === 'ok') {
      try {
        const live = await withTimeout(liveWorkers(options.prisma, options.readyWorkerSeconds), timeoutMs, 'the database');
        checks.workers = `${live.length} live`;
        if (live.length === 0) reasons.push(`no inference worker seen in the last ${options.readyWorkerSeconds} s`);
      } catch (e) {
        checks.workers = 'unknown';
        reasons.push(`worker heartbeats unreadable: ${firstLine(e)}`);
      }
    }
    return { ready: reasons.length === 0, reasons, checks };
  };
}

/** Depth and the oldest ready job's age of one priority, lower-cased for a metric label. */
interface PriorityDepth {
  priority: string;
  ready: number;
  delayed: number;
  running: number;
  oldestReadyAgeSeconds: number;
}

/** One statement per scrape and gauge, every priority present (zeros included), read off the status indexes. */
export async function queueDepth(prisma: PrismaClient): Promise<PriorityDepth[]> {
  const rows = await prisma.$queryRawUnsafe<{ priority: string; ready: number; delayed: number; running: number; age: number | null }[]>(
    `SELECT p."priority"::text AS "priority",
            count(j."id") FILTER (WHERE j."status" = 'QUEUED' AND j."runAfter" <= now())::int AS "ready",
            count(j."id") FILTER (WHERE j."status" = 'QUEUED' AND j."runAfter" > now())::int AS "delayed",
            count(j."id") FILTER (WHERE j."status" = 'RUNNING')::int AS "running",
            extract(epoch FROM now() - min(j."runAfter") FILTER (WHERE j."status" = 'QUEUED' AND j."runAfter" <= now()))::float8 AS "age"
       FROM unnest(enum_range(NULL::"JobPriority")) AS p("priority")
       LEFT JOIN "Job" AS j ON j."priority" = p."priority" AND j."status" IN ('QUEUED', 'RUNNING')
      GROUP BY p."priority" ORDER BY p."priority"`,
  );
  return rows.map((r) => ({
    priority: r.priority.toLowerCase(),
    ready: Number(r.ready),
    delayed: Number(r.delayed),
    running: Number(r.running),
    oldestReadyAgeSeconds: Math.max(0, Number(r.age ?? 0)),
  }));
}

export interface ChannelDepth {
  /** webhook, lti_score or xapi */
  channel: string;
  ready: number;
  delayed: number;
  sending: number;
  oldestReadyAgeSeconds: number;
}

/**
 * Outbox deliveries waiting or in flight per channel, every channel listed (zeros included) so the
 * series are there before the first delivery. Judged as the claim judges (src/outbox/store.ts): a
 * SENDING delivery whose lease has passed (its worker died) is due again, so it counts as ready and
 * has waited since its lease ended. Along the (status, runAfter) and (status, leaseExpiresAt) indexes.
 */
async function readDeliveryDepth(prisma: PrismaClient): Promise<ChannelDepth[]> {
  const rows = await prisma.$queryRawUnsafe<{ channel: string; ready: number; delayed: number; sending: number; age: number | null }[]>(
    `SELECT c."channel"::text AS "channel",
            count(d."id") FILTER (WHERE d."status" = 'PENDING' AND d."runAfter" <= now()
                                     OR d."status" = 'SENDING' AND d."leaseExpiresAt" < now())::int AS "ready",
            count(d."id") FILTER (WHERE d."status" = 'PENDING' AND d."runAfter" > now())::int AS "delayed",
            count(d."id") FILTER (WHERE d."status" = 'SENDING' AND NOT (d."leaseExpiresAt" < now()))::int AS "sending",
            extract(epoch FROM now() - min(CASE WHEN d."status" = 'PENDING' AND d."runAfter" <= now() THEN d."runAfter"
                                                WHEN d."status" = 'SENDING' AND d."leaseExpiresAt" < now() THEN d."leaseExpiresAt" END))::float8 AS "age"
       FROM unnest(enum_range(NULL::"DeliveryChannel")) AS c("channel")
       LEFT JOIN "Delivery" AS d ON d."channel" = c."channel" AND d."status" IN ('PENDING', 'SENDING')
      GROUP BY c."channel" ORDER BY c."channel"`,
  );
  return rows.map((r) => ({
    channel: r.channel.toLowerCase(),
    ready: Number(r.ready),
    delayed: Number(r.delayed),
    sending: Number(r.sending),
    oldestReadyAgeSeconds: Math.max(0, Number(r.age ?? 0)),
  }));
}

/**
 * One read per scrape for the two delivery gauges: the first (rendered first, in registration
 * order) reads and leaves its rows for the second, which takes them (or reads, when alone).
 */
function sharedDeliveryDepth(prisma: PrismaClient): { read: () => Promise<ChannelDepth[]>; take: () => Promise<ChannelDepth[]> } {
  let left: Promise<ChannelDepth[]> | null = null;
  return {
    read: () => (left = readDeliveryDepth(prisma)),
    take: () => {
      const rows = left ?? readDeliveryDepth(prisma);
      left = null;
      return rows;
    },
  };
}

/**
 * QUEUED jobs per requested model version that no live worker serves (their claim filter skips
 * them: src/jobs/queue.ts); they wait for a worker with that bundle.
 */
export async function unservedJobs(prisma: PrismaClient, liveWindowSeconds: number): Promise<{ modelVersion: string; jobs: number }[]> {
  const served = await servedModelVersions(prisma, liveWindowSeconds);
  const rows = await prisma.$queryRawUnsafe<{ modelVersion: string; jobs: number }[]>(
    `SELECT "requestedModelVersion" AS "modelVersion", count(*)::int AS "jobs" FROM "Job"
      WHERE "status" = 'QUEUED' AND "requestedModelVersion" IS NOT NULL AND NOT ("requestedModelVersion" = ANY($1::text[]))
      GROUP BY 1 ORDER BY 1`,
    served,
  );
  return rows.map((r) => ({ modelVersion: r.modelVersion, jobs: Number(r.jobs) }));
}

/** Queue depth and age per priority, live workers, and the outbox's deliveries, read from the database when Prometheus scrapes. */
export function registerQueueMetrics(prisma: PrismaClient, liveWindowSeconds: number): void {
  const depth = sharedDeliveryDepth(prisma);
  metrics.replace(
    new Gauge(
      'speechmark_queue_jobs',
      'Jobs waiting or running by priority (interactive, bulk) and state: ready (claimable now), delayed (retry backoff) or running.',
      async () => (await queueDepth(prisma)).flatMap((r) =>
        (['ready', 'delayed', 'running'] as const).map((state) => ({ labels: { priority: r.priority, state }, value: r[state] })),
      ),
    ),
  );
  metrics.replace(
    new Gauge(
      'speechmark_queue_oldest_ready_age_seconds',
      'How long the oldest claimable job of each priority has been waiting (0 when none waits).',
      async () => (await queueDepth(prisma)).map((r) => ({ labels: { priority: r.priority }, value: r.oldestReadyAgeSeconds })),
    ),
  );
  metrics.replace(
    new Gauge(
      'speechmark_queue_unserved_jobs',
      'QUEUED jobs asking for a model version no live worker serves, by version (they wait for such a worker).',
      async () => (await unservedJobs(prisma, liveWindowSeconds)).map((r) => ({ labels: { model_version: r.modelVersion }, value: r.jobs })),
    ),
  );
  metrics.replace(
    new Gauge('speechmark_workers_live', 'Inference workers whose heartbeat was seen within the readiness window, by execution provider.', async () => {
      const live = await liveWorkers(prisma, liveWindowSeconds);
      const byProvider = new Map<string, number>();
      for (const w of live) byProvider.set(w.executionProvider, (byProvider.get(w.executionProvider) ?? 0) + 1);
      return [...byProvider].map(([provider, value]) => ({ labels: { provider }, value }));
    }),
  );
  metrics.replace(
    new Gauge(
      'speechmark_deliveries',
      'Outbox deliveries (webhooks, LTI scores, xAPI statements) by channel and state: ready (due now, or in flight on a worker whose lease has passed), delayed (retry backoff) or sending.',
      async () => (await depth.read()).flatMap((r) =>
        (['ready', 'delayed', 'sending'] as const).map((state) => ({ labels: { channel: r.channel, state }, value: r[state] })),
      ),
    ),
  );
  metrics.replace(
    new Gauge(
      'speechmark_delivery_oldest_ready_age_seconds',
      'How long the oldest due delivery of each channel has waited for an attempt (0 when none waits).',
      async () => (await depth.take()).map((r) => ({ labels: { channel: r.channel }, value: r.oldestReadyAgeSeconds })),
    ),
  );
  metrics.replace(
    new Gauge('speechmark_process_resident_memory_bytes', 'Resident memory of this process.', async () => [{ labels: {}, value: process.memoryUsage.rss() }]),
  );
}

/** A fixed route label (never the raw path: ids in paths would make a series per request). */
function routeOf(req: Request): string {
  const p = req.originalUrl.split('?')[0] ?? '';
  for (const r of ['/graphql', '/healthz', '/readyz', '/metrics', '/export/results', '/export/xapi', '/audio', '/.well-known/jwks.json']) {
    if (p === r || p.startsWith(`${r}/`)) return r;
  }
  return 'other';
}

/** HTTP request latency for /metrics, and one log line per request with its ids. */
export function observeRequests(req: Request, res: Response, next: NextFunction): void {
  const started = process.hrtime.bigint();
  res.on('finish', () => {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const route = routeOf(req);
    httpDuration.observe({ method: req.method, route, status: `${Math.floor(res.statusCode / 100)}xx` }, seconds);
    if (route === '/healthz' || route === '/readyz' || route === '/metrics') return; // probes: counted, not logged
    log.info('request', {
      requestId: res.locals.requestId as string | undefined,
      organizationId: res.locals.organizationId as string | undefined,
      method: req.method,
      route,
      status: res.statusCode,
      ms: Math.round(seconds * 1000 * 10) / 10,
    });
  });
  next();
}

function tokenMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(header ?? '');
  if (!m) return false;
  // Hashes of equal length, so the comparison takes the same time whatever was sent.
  const a = createHash('sha256').update(m[1]!.trim()).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b);
}

async function sendMetrics(res: Response): Promise<void> {
  res.type('text/plain; version=0.0.4; charset=utf-8').send(await metrics.render());
}

/**
 * /healthz, /readyz and /metrics on the API's own app. `metricsToken` null: /metrics is not served
 * here (only on the separate listener, if any).
 */
export function mountOpsRoutes(app: Express, readiness: () => Promise<Readiness>, metricsToken: string | null): void {
  app.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });
  app.get('/readyz', async (_req, res) => {
    const r = await readiness();
    if (!r.ready) log.warn('not ready', { reasons: r.reasons });
    res.status(r.ready ? 200 : 503).json(r);
  });
  app.get('/metrics', async (req, res) => {
    if (metricsToken === null) {
      res.status(404).json({ error: 'not served on this port (see SPEECHMARK_METRICS_TOKEN and SPEECHMARK_METRICS_PORT)' });
      return;
    }
    if (!tokenMatches(req.headers.authorization, metricsToken)) {
      res.status(401).set('WWW-Authenticate', 'Bearer').json({ error: 'metrics need Authorization: Bearer <SPEECHMARK_METRICS_TOKEN>' });
      return;
    }
    await sendMetrics(res);
  });
}

/**
 * The separate operations listener (SPEECHMARK_METRICS_PORT): /metrics without a token, /healthz
 * and /readyz, for Prometheus and probes on a network the operator controls. Worker processes,
 * which serve no API, use it too.
 */
export async function startOpsServer(port: number, host: string, readiness: () => Promise<Readiness>): Promise<{ url: string; close(): Promise<void> }> {
  const app = express();
  app.use(observeRequests);
  app.get('/metrics', (_req, res) => void sendMetrics(res));
  mountOpsRoutes(app, readiness, null);
  const server = http.createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const address = server.address();
  const actual = typeof address === 'object' && address ? address.port : port;
  return {
    url: `http://${host}:${actual}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
