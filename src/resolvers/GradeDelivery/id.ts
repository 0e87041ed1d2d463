import type { GradeDeliveryResolvers } from '../../generated/graphql.js';
import { toGlobalId } from '../../graphql/ids.js';

export const id: GradeDeliveryResolvers['id'] = (delivery) => toGlobalId('GradeDelivery', delivery.id);
