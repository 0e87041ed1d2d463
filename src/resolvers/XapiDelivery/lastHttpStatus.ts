import type { XapiDeliveryResolvers } from '../../generated/graphql.js';

export const lastHttpStatus: XapiDeliveryResolvers['lastHttpStatus'] = (delivery) => delivery.lastStatusCode;
