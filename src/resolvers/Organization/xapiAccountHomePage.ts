import type { OrganizationResolvers } from '../../generated/graphql.js';

/** The organisation's own, else the server's (what statements are built with). */
export const xapiAccountHomePage: OrganizationResolvers['xapiAccountHomePage'] = (org, _args, ctx) =>
  org.xapiAccountHomePage ?? ctx.services.config.xapi.accountHomePage;
