import type { GradeDeliveryResolvers } from '../../generated/graphql.js';

export const lastHttpStatus: GradeDeliveryResolvers['lastHttpStatus'] = (delivery) => delivery.lastStatusCode;
