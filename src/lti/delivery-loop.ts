/**
 * Drives LTI score deliveries: claims PENDING rows whose time has come and makes one recorded
 * attempt at each (deliverLtiScore). Runs beside the job worker, in the API process (in-process
 * worker) and in every `npm run worker` process; any number of them share the rows.
 *
 * Claiming moves the row's `nextAttemptAt` a lease into the future in the claiming statement (FOR
 * UPDATE SKIP LOCKED), so no other loop takes it while the attempt runs; recording the outcome then
 * sets the real next time (or DELIVERED/FAILED). A process that dies mid-attempt leaves the row
 * PENDING, and it is taken again when the lease runs out: a score is posted at least once, and
 * posting it twice is harmless (AGS keeps the latest score per user and line item).
 */
import type { PrismaClient } from '../generated/prisma/client.js';
import { LTI_HTTP_TIMEOUT_MS } from './http.js';
import type { LtiScoreSender } from './sender.js';

export interface LtiDeliveryLoopOptions {
  pollIntervalMs: number;
  /** Deliveries claimed per poll. */
  batch?: number;
  onError?: (err: unknown) => void;
}

/** Longer than an attempt can take: a token request and a score post, each with its timeout. */
const LEASE_SECONDS = Math.ceil((3 * LTI_HTTP_TIMEOUT_MS) / 1000) + 30;

/** Claim up to `n` due deliveries (lease: nextAttemptAt pushed forward). */
export async function claimDueLtiDeliveries(prisma: PrismaClient, n: number): Promise<string[]> {
  const rows = await prisma.$queryRaw<{ id: string }[]>`
    UPDATE "LtiScoreDelivery" SET "nextAttemptAt" = now() + make_interval(secs => ${LEASE_SECONDS})
     WHERE "id" IN (SELECT "id" FROM "LtiScoreDelivery"
                     WHERE "status" = 'PENDING' AND "nextAttemptAt" <= now()
                     ORDER BY "nextAttemptAt" LIMIT ${n}::int FOR UPDATE SKIP LOCKED)
    RETURNING "id"::text AS id`;
  return rows.map((r) => r.id);
}

export class LtiDeliveryLoop {
  private running: Promise<void> | null = null;
  private stopping = false;
  private timer: NodeJS.Timeout | null = null;
  private wakeUp: (() => void) | null = null;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly sender: LtiScoreSender,
    private readonly opts: LtiDeliveryLoopOptions,
  ) {}

  start(): void {
    if (this.running) return;
    this.stopping = false;
    this.running = this.run();
  }

  /** Look now (a job just completed with a score owed). */
  wake(): void {
    this.wakeUp?.();
  }

  /** Stops claiming; the attempt in flight (bounded by the HTTP timeouts) finishes and is recorded. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake();
    await this.running;
    this.running = null;
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      let claimed: string[] = [];
      try {
        claimed = await claimDueLtiDeliveries(this.prisma, this.opts.batch ?? 10);
        for (const id of claimed) {
          await this.sender.deliver(id);
        }
      } catch (err) {
        this.opts.onError?.(err); // the row stays PENDING and is claimed again after its lease
      }
      if (claimed.length === 0 && !this.stopping) await this.sleep(this.opts.pollIntervalMs);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wakeUp = () => {
        if (this.timer) clearTimeout(this.timer);
        this.wakeUp = null;
        resolve();
      };
      this.timer = setTimeout(() => this.wakeUp?.(), ms);
      this.timer.unref?.();
    });
  }
}
