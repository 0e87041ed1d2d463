import type { ViewerApiKeyResolvers } from '../../generated/graphql.js';
import { toGlobalId } from '../../graphql/ids.js';

/** The same global id admins see on ApiKey.id. */
export const id: ViewerApiKeyResolvers['id'] = (key) => toGlobalId('ApiKey', key.id);
