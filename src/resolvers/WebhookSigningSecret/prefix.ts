import type { WebhookSigningSecretResolvers } from '../../generated/graphql.js';
import { secretPrefix } from '../../outbox/signing.js';

export const prefix: WebhookSigningSecretResolvers['prefix'] = (secret) => secretPrefix(secret.secret);
