import type { WebhookDeliveryResolvers } from '../../generated/graphql.js';

/** The delivery workers' setting (SPEECHMARK_WEBHOOK_MAX_ATTEMPTS), as this process reads it. */
export const maxAttempts: WebhookDeliveryResolvers['maxAttempts'] = (_delivery, _args, ctx) => ctx.services.config.webhookMaxAttempts;
