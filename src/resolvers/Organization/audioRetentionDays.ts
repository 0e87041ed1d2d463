import type { OrganizationResolvers } from '../../generated/graphql.js';
import { effectiveRetentionDays } from '../../assessment/audio-retention.js';

/** The organisation's own, else the server's (what the sweep applies). */
export const audioRetentionDays: OrganizationResolvers['audioRetentionDays'] = (org, _args, ctx) =>
  effectiveRetentionDays(org.audioRetentionDays, ctx.services.config.audioRetentionDays);
