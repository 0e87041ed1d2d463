import type { RequestContext } from '../../graphql/context.js';
import type { XapiDeliveryResolvers } from '../../generated/graphql.js';
import type { XapiDeliveryModel } from '../../graphql/models.js';
import { assessmentIdOf } from '../../xapi/send.js';
import { statementIdFor } from '../../xapi/uuid.js';

/** The assessment an XAPI delivery's event (assessment.completed) is about, as the sender reads it. */
async function assessmentIdOfDelivery(delivery: XapiDeliveryModel, ctx: RequestContext): Promise<string | null> {
  const event = await ctx.loaders.outboxEvent.load(delivery.eventId);
  return event ? assessmentIdOf(event.body) : null;
}

/** null once the learner is erased (the assessment is gone; the delivery then goes with its event). */
export const assessment: XapiDeliveryResolvers['assessment'] = async (delivery, _args, ctx) => {
  const id = await assessmentIdOfDelivery(delivery, ctx);
  return id ? ctx.loaders.assessment.load(id) : null;
};

export const statementId: XapiDeliveryResolvers['statementId'] = async (delivery, _args, ctx) => {
  const id = await assessmentIdOfDelivery(delivery, ctx);
  return id ? statementIdFor(id) : null;
};
