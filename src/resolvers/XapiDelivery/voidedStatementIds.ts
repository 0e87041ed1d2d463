import type { XapiDeliveryResolvers } from '../../generated/graphql.js';

/** Rows of the delivery's event (ADMIN, checked by the loader); none for an assessment's statement. */
export const voidedStatementIds: XapiDeliveryResolvers['voidedStatementIds'] = async (delivery, _args, ctx) =>
  (await ctx.loaders.voidingsByEvent.load(delivery.eventId)).map((v) => v.statementId);
