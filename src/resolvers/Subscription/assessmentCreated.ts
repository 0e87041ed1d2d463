import type { SubscriptionResolvers } from '../../generated/graphql.js';
import { concernsLearner, deliver, hubOf, mayConcern, resolveTarget } from './target.js';

export const assessmentCreated: SubscriptionResolvers['assessmentCreated'] = {
  subscribe: async (_parent, args, ctx) => {
    const target = await resolveTarget(ctx, args, ['utteranceId', 'learnerId']);
    const { organizationId } = ctx.principal;
    const events = hubOf(ctx).subscribe((e) => e.type === 'assessment' && mayConcern(e, organizationId, target), { learnerId: target.learnerId });
    return deliver(ctx, events, concernsLearner(ctx, target), async (e) => {
      if (e.type !== 'assessment') return null;
      const assessment = await ctx.loaders.assessment.load(e.assessmentId);
      return assessment ? { assessmentCreated: assessment } : null;
    });
  },
};
