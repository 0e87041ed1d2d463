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
  model: { name: string; version: string; sha256: string };
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
    const { workerId, host, pid, model, executionProvider, concurrency } = this.identity;
    // One statement: the upsert, and the rows of workers gone for a day go with it.
    await this.prisma.$executeRaw`
      WITH gone AS (DELETE FROM "WorkerHeartbeat" WHERE "lastSeenAt" < now() - make_interval(secs => ${FORGET_AFTER_SECONDS}::float8))
      INSERT INTO "WorkerHeartbeat" ("id", "host", "pid", "modelName", "modelVersion", "modelSha256", "executionProvider",
                                     "concurrency", "jobsInHand", "startedAt", "lastSeenAt")
      VALUES (${workerId}, ${host}, ${pid}, ${model.name}, ${model.version}, ${model.sha256}, ${executionProvider},
              ${concurrency}, ${this.jobsInHand()}, now(), now())
      ON CONFLICT ("id") DO UPDATE SET "jobsInHand" = EXCLUDED."jobsInHand", "lastSeenAt" = now(), "stoppedAt" = NULL`;
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
