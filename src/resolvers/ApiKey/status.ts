import type { ApiKeyResolvers } from '../../generated/graphql.js';
import { apiKeyStatus } from '../../graphql/auth.js';

export const status: ApiKeyResolvers['status'] = (key) => apiKeyStatus(key);
