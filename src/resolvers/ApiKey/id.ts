import type { ApiKeyResolvers } from '../../generated/graphql.js';
import { toGlobalId } from '../../graphql/ids.js';

export const id: ApiKeyResolvers['id'] = (key) => toGlobalId('ApiKey', key.id);
