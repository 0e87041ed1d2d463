import type { QueryResolvers } from '../../generated/graphql.js';

/** Stopped and silent workers only when asked; "live" is the readiness window (60 s when readiness ignores workers). */
export const workers: QueryResolvers['workers'] = (_parent, { includeStopped }, ctx) =>
  ctx.loaders.workers(includeStopped ?? false, ctx.services.config.readyWorkerSeconds || 60);
