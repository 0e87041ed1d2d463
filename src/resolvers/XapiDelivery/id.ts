import type { XapiDeliveryResolvers } from '../../generated/graphql.js';
import { toGlobalId } from '../../graphql/ids.js';

export const id: XapiDeliveryResolvers['id'] = (delivery) => toGlobalId('XapiDelivery', delivery.id);
