import type { SubscriptionResolvers } from '../../generated/graphql.js';
import { concernsLearner, deliver, hubOf, mayConcern, resolveTarget } from './target.js';

/**
 * The job as read when the event is sent, with the status the change set: a job that finished
 * before a RUNNING event was delivered still reads RUNNING in that event, so a subscriber sees every
 * transition in order.
 */
export const jobStatusChanged: SubscriptionResolvers['jobStatusChanged'] = {
  subscribe: async (_parent, args, ctx) => {
    const target = await resolveTarget(ctx, args, ['jobId', 'utteranceId', 'learnerId']);
    const { organizationId } = ctx.principal;
    const events = hubOf(ctx).subscribe((e) => e.type === 'job' && mayConcern(e, organizationId, target), { learnerId: target.learnerId });
    return deliver(ctx, events, concernsLearner(ctx, target), async (e) => {
      if (e.type !== 'job') return null;
      const job = await ctx.loaders.job.load(e.jobId);
      return job ? { jobStatusChanged: { ...job, status: e.status } } : null;
    });
  },
};
