/**
 * Worker heartbeats: each inference worker upserts one WorkerHeartbeat row (who it is, the model
 * and provider it serves, the jobs in hand) at start and every few seconds, and marks it stopped on
 * a graceful stop. Readers: /readyz ("a worker seen recently"), `Query.workers` (admins),
 * `Query.model` on an API process that runs no model (the provider workers report), /metrics.
 *
 * All times are the database's now(), as for job leases, so hosts' clocks never matter.
 */
import type { PrismaClient, WorkerHeartbeat } from '../generated/prisma/client.js';
import { log } from '../ops/log.js';

export interface WorkerIdentity {
  workerId: string;
  host: string;
  pid: number;
  /** The default bundle: it runs the jobs that ask for no version. */
  model: { name: string; version: string; sha256: string };
  /** Every version the worker serves, the default's first. */
  modelVersions: string[];
  executionProvider: string;
  concurrency: number;
}

/** Rows not seen for this long are deleted by the next heartbeat of any worker. */
const FORGET_AFTER_SECONDS = 24 * 3600;

export class HeartbeatPublisher {
  private timer: NodeJS.Timeout | null = null;
  private beating: Promise<void> = Promise.resolve();
  private readonly logger;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly identity: WorkerIdentity,
    private readonly jobsInHand: () => number,
    private readonly intervalMs: number,
  ) {
    this.logger = log.child({ workerId: identity.workerId });
  }

  /** Writes the first heartbeat (awaited: a worker is visible once start resolves), then one every interval. */
  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => {
      this.beating = this.beat().catch((err: unknown) => this.logger.warn('heartbeat not written', { err }));
    }, this.intervalMs);
    this.timer.unref();
  }

  /** Marks the row stopped (a graceful stop); a worker that dies keeps its last lastSeenAt instead. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.beating.catch(() => undefined);
    await this.prisma.$executeRaw`UPDATE "WorkerHeartbeat" SET "stoppedAt" = now(), "jobsInHand" = 0, "lastSeenAt" = now()
                                   WHERE "id" = ${this.identity.workerId}`;
  }

  private async beat(): Promise<void> {
    const { workerId, host, pid, model, modelVersions, executionProvider, concurrency } = this.identity;
    // One statement: the upsert, and the rows of workers gone for a day go with it.
    await this.prisma.$executeRaw`
      WITH gone AS (DELETE FROM "WorkerHeartbeat" WHERE "lastSeenAt" < now() - make_interval(secs => ${FORGET_AFTER_SECONDS}::float8))
      INSERT INTO "WorkerHeartbeat" ("id", "host", "pid", "modelName", "modelVersion", "modelSha256", "modelVersions", "executionProvider",
                                     "concurrency", "jobsInHand", "startedAt", "lastSeenAt")
      VALUES (${workerId}, ${host}, ${pid}, ${model.name}, ${model.version}, ${model.sha256}, ${modelVersions}::text[], ${executionProvider},
              ${concurrency}, ${this.jobsInHand()}, now(), now())
      ON CONFLICT ("id") DO UPDATE SET "jobsInHand" = EXCLUDED."jobsInHand", "modelVersions" = EXCLUDED."modelVersions", "lastSeenAt" = now(), "stoppedAt" = NULL`;
  }
}

/** Workers seen within `withinSeconds` and not stopped, most recent first. */
export function liveWorkers(prisma: PrismaClient, withinSeconds: number): Promise<WorkerHeartbeat[]> {
  return prisma.$queryRaw<WorkerHeartbeat[]>`
    SELECT * FROM "WorkerHeartbeat"
     WHERE "stoppedAt" IS NULL AND "lastSeenAt" >= now() - make_interval(secs => ${withinSeconds}::float8)
     ORDER BY "lastSeenAt" DESC`;
}

/** Every worker row, most recent first (the rows of the last day: older ones are deleted). */
export function allWorkers(prisma: PrismaClient): Promise<(WorkerHeartbeat & { ageSeconds: number })[]> {
  return prisma.$queryRaw<(WorkerHeartbeat & { ageSeconds: number })[]>`
    SELECT *, extract(epoch FROM now() - "lastSeenAt")::float8 AS "ageSeconds" FROM "WorkerHeartbeat" ORDER BY "lastSeenAt" DESC`;
}

/**
 * The model versions live workers serve (seen within `withinSeconds`, not stopped): what a job may
 * ask for. A row from before workers listed their versions counts with its one modelVersion.
 */
export async function servedModelVersions(prisma: PrismaClient, withinSeconds: number): Promise<string[]> {
  const rows = await prisma.$queryRaw<{ version: string }[]>`
    SELECT DISTINCT v AS "version"
      FROM "WorkerHeartbeat" AS w
     CROSS JOIN LATERAL unnest(array_append(coalesce(w."modelVersions", ARRAY[]::text[]), w."modelVersion")) AS v
     WHERE w."stoppedAt" IS NULL AND w."lastSeenAt" >= now() - make_interval(secs => ${withinSeconds}::float8)`;
  return rows.map((r) => r.version);
}
