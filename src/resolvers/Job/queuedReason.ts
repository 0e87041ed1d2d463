import type { JobResolvers } from '../../generated/graphql.js';

/**
 * Why a QUEUED job waits: its retry delay, no live worker for its model version, or its turn. The
 * live versions come from the workers' heartbeats (one read per request), as the claim sees them:
 * a worker claims only jobs of versions it serves (src/jobs/queue.ts).
 */
export const queuedReason: JobResolvers['queuedReason'] = async (job, _args, ctx) => {
  if (job.status !== 'QUEUED') return null;
  // Only a failed attempt puts runAfter ahead (failJob); a new or handed-back job's is the database's
  // now(), which a server clock a little behind the database's could otherwise read as a delay.
  if (job.errorCode !== null && job.runAfter.getTime() > Date.now()) return 'RETRY_BACKOFF';
  const served = await ctx.loaders.servedModelVersions(ctx.services.config.readyWorkerSeconds || 60);
  const servable = job.requestedModelVersion == null ? served.length > 0 : served.includes(job.requestedModelVersion);
  return servable ? 'IN_LINE' : 'WAITING_FOR_WORKER';
};

/** While QUEUED, when it may be claimed (runAfter: the end of a retry delay, else when it was queued or handed back). */
export const nextAttemptAt: JobResolvers['nextAttemptAt'] = (job) => (job.status === 'QUEUED' ? job.runAfter : null);
