import type { GradeDeliveryResolvers } from '../../generated/graphql.js';

export const nextAttemptAt: GradeDeliveryResolvers['nextAttemptAt'] = (delivery) => (delivery.status === 'PENDING' ? delivery.runAfter : null);
