/**
 * An organisation's Learning Record Store (ADMIN GraphQL): set or replace it, remove it. Each change
 * writes its audit event in the same transaction. The password is stored because Basic auth needs
 * it on every request; nothing returns it (the GraphQL type has no field for it, the audit event
 * records only the endpoint and user).
 */
import type { Organization, PrismaClient, XapiLrs } from '../generated/prisma/client.js';
import { badInput } from '../errors.js';
import { recordAudit, type Actor } from '../admin/audit.js';
import { validateEndpointUrl, type AddressPolicy } from '../outbox/address-policy.js';

const MAX_CREDENTIAL_CHARS = 500;

export interface LrsInput {
  endpoint: string;
  username: string;
  password: string;
}

function validateCredentials(input: LrsInput): { username: string; password: string } {
  const username = input.username.trim();
  // Basic auth splits user and password at the first colon: a user id cannot hold one.
  if (!username || username.length > MAX_CREDENTIAL_CHARS || username.includes(':')) {
    throw badInput(`username must be 1 to ${MAX_CREDENTIAL_CHARS} characters without a colon.`, 'input.username');
  }
  if (!input.password || input.password.length > MAX_CREDENTIAL_CHARS) throw badInput(`password must be 1 to ${MAX_CREDENTIAL_CHARS} characters.`, 'input.password');
  return { username, password: input.password };
}

export async function setXapiLrs(
  prisma: PrismaClient,
  rules: { policy: AddressPolicy; allowHttp: boolean },
  organizationId: string,
  input: LrsInput,
  actor: Actor,
): Promise<XapiLrs> {
  const endpoint = validateEndpointUrl(input.endpoint, rules.policy, rules.allowHttp, 'input.endpoint');
  const { username, password } = validateCredentials(input);
  return prisma.$transaction(async (tx) => {
    const row = await tx.xapiLrs.upsert({
      where: { organizationId },
      create: { organizationId, endpoint, username, password },
      update: { endpoint, username, password },
    });
    await recordAudit(tx, { organizationId, actor, action: 'xapiLrs.set', targetType: 'Organization', targetId: organizationId, details: { endpoint, username } });
    return row;
  });
}

/** Removes it; null when there was none. Deliveries already written fail with LRS_NOT_CONFIGURED (unless the server has one). */
export async function removeXapiLrs(prisma: PrismaClient, organizationId: string, actor: Actor): Promise<XapiLrs | null> {
  return prisma.$transaction(async (tx) => {
    const row = await tx.xapiLrs.findUnique({ where: { organizationId } });
    if (!row) return null;
    await tx.xapiLrs.delete({ where: { id: row.id } });
    await recordAudit(tx, { organizationId, actor, action: 'xapiLrs.removed', targetType: 'Organization', targetId: organizationId, details: { endpoint: row.endpoint } });
    return row;
  });
}

const MAX_HOME_PAGE_CHARS = 2000;

/**
 * The organisation's xAPI account home page (setXapiAccountHomePage): an identifier of the LMS, never
 * fetched, so no address rules; only an absolute http(s) URL that an LRS will take as an IRL.
 */
export async function setXapiAccountHomePage(prisma: PrismaClient, organizationId: string, url: string | null, actor: Actor): Promise<Organization> {
  const homePage = url === null ? null : validHomePage(url);
  return prisma.$transaction(async (tx) => {
    const before = await tx.organization.findUniqueOrThrow({ where: { id: organizationId }, select: { xapiAccountHomePage: true } });
    const row = await tx.organization.update({ where: { id: organizationId }, data: { xapiAccountHomePage: homePage } });
    await recordAudit(tx, {
      organizationId, actor, action: 'organization.xapiAccountHomePageSet', targetType: 'Organization', targetId: organizationId,
      details: { from: before.xapiAccountHomePage, to: homePage },
    });
    return row;
  });
}

/** What an IRL may not hold unescaped (RFC 3987): spaces and controls, and these delimiters. */
const NOT_IN_IRL = /[\s\x00-\x1f\x7f<>"{}|\\^`]/;

function validHomePage(text: string): string {
  // Trailing slashes go, as from SPEECHMARK_XAPI_ACCOUNT_HOME_PAGE: one spelling per home page.
  const url = text.trim().replace(/\/+$/, '');
  const refuse = (why: string) =>
    badInput(`url ${why}: give the LMS's address, e.g. https://moodle.school.example.`, 'url');
  if (url.length === 0 || url.length > MAX_HOME_PAGE_CHARS) throw refuse(`must be 1 to ${MAX_HOME_PAGE_CHARS} characters`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw refuse('is not an absolute URL');
  }
  if (!/^https?:\/\/[^/?#]/i.test(url)) throw refuse('must be http:// or https:// with a host');
  if (NOT_IN_IRL.test(url)) throw refuse('must not hold spaces, control characters or any of <>"{}|\\^` (percent-encode them)');
  if (/%(?![0-9A-Fa-f]{2})/.test(url)) throw refuse('has a % that is not a percent-encoding');
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw refuse('must be http:// or https://');
  if (parsed.username || parsed.password) throw refuse('must not hold credentials');
  if (parsed.hash) throw refuse('must not have a fragment');
  return url;
}
