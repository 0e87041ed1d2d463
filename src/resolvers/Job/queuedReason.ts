import type { JobResolvers } from '../../generated/graphql.js';

/**
 * Why a QUEUED job waits: its retry delay, no live worker for its model version, or its turn. The
 * live versions come from the workers' heartbeats (one read per request), as the claim sees them:
 * a worker claims only jobs of versions it serves (src/jobs/queue.ts).
 */
export const queuedReason: JobResolvers['queuedReason'] = async (job, _args, ctx) => {
  if (job.status !== 'QUEUED') return null;
  // By the database's clock, as the claim judges it: only a failed attempt puts runAfter ahead.
  const { versions, now } = await ctx.loaders.queueView(ctx.services.config.readyWorkerSeconds || 60);
  if (job.runAfter.getTime() > now.getTime()) return 'RETRY_BACKOFF';
  const servable = job.requestedModelVersion == null ? versions.length > 0 : versions.includes(job.requestedModelVersion);
  return servable ? 'IN_LINE' : 'WAITING_FOR_WORKER';
};

/** While QUEUED, when it may be claimed (runAfter: the end of a retry delay, else when it was queued or handed back). */
export const nextAttemptAt: JobResolvers['nextAttemptAt'] = (job) => (job.status === 'QUEUED' ? job.runAfter : null);

/** While RUNNING, when the worker's lease ends unless renewed. */
export const leaseExpiresAt: JobResolvers['leaseExpiresAt'] = (job) => (job.status === 'RUNNING' ? job.leaseExpiresAt : null);

/**
 * While RUNNING, whether the lease has ended by the database's clock (the one the claim compares
 * it with: `"leaseExpiresAt" < now()` in src/jobs/queue.ts), so its worker stopped without finishing.
 */
export const stalled: JobResolvers['stalled'] = async (job, _args, ctx) => {
  if (job.status !== 'RUNNING') return null;
  if (job.leaseExpiresAt === null) return false; // not written by any claim; judged as the claim would (NULL < now() is not true)
  const { now } = await ctx.loaders.queueView(ctx.services.config.readyWorkerSeconds || 60);
  return job.leaseExpiresAt.getTime() < now.getTime();
};
