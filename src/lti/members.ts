/**
 * A course's roster from the LMS: LTI Names and Role Provisioning Services 2.0 (NRPS). The
 * platform's context memberships service lists the members of a course (or section) with their
 * roles and status; each active learner becomes (or stays) a speechmark learner whose `externalId`
 * is their LTI user id (the launch's `sub`, what AGS scores are posted for) and who carries the
 * course as a group, so cohorts follow the LMS. Learners of that group who left the course (gone
 * from the roster, Inactive or Deleted) lose the group; nothing else of theirs changes.
 *
 * The roster is read whole (every page, by the `Link: rel="next"` headers) before anything is
 * written, then applied in one transaction with its audit event: a failure part-way writes nothing.
 */
import { unstorableReason } from '../text/storable.js';
import type { PrismaClient } from '../generated/prisma/client.js';
import { AppError, badInput } from '../errors.js';
import { recordAudit, type Actor } from '../admin/audit.js';
import { createMissingLearners, MAX_DISPLAY_NAME_LENGTH } from '../learners/create.js';
import { MAX_GROUP_LENGTH, MAX_GROUPS } from '../learners/groups.js';
import { erasedAmong } from '../learners/erased.js';
import { OutboundError } from '../outbox/http.js';
import { validateEndpointUrl, type AddressPolicy } from '../outbox/address-policy.js';
import { httpUrl } from './platforms.js';
import { platformError as serviceError } from './platform-error.js';
import { TokenError, type LtiTokenClient } from './token.js';
import { MAX_PAGE_BYTES, type HttpGet } from './http.js';
import { refuseUnbound, refuseUnboundPlatform, UnboundOriginError } from './origins.js';

export const NRPS_SCOPE = 'https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly';
export const MEMBERSHIP_MEDIA_TYPE = 'application/vnd.ims.lti-nrps.v2.membershipcontainer+json';
/**
 * A roster is read in at most this many pages, this many bytes and this long, and holds at most
 * this many members: a platform (or an address an admin typed) cannot hold a request, or the
 * process's memory, for long.
 */
export const MAX_PAGES = 200;
export const MAX_MEMBERS = 20_000;
export const MAX_ROSTER_BYTES = 32 * 1024 * 1024;
export const MAX_ROSTER_MS = 120_000;
/** New learners are inserted this many at a time (five parameters each, well under PostgreSQL's 65,535). */
const INSERT_CHUNK = 2_000;
/** Advisory lock namespace of roster syncs (`SMRS`), keyed by organisation and group. */
const ROSTER_LOCK = 0x534d5253;

export interface SyncInput {
  organizationId: string;
  platformId: string;
  contextMembershipsUrl: string;
  /** The group the course's learners carry; by default the context's id as the platform gives it. */
  group?: string | null;
}

export interface SkippedMember {
  userId: string;
  reason: string;
}

export interface SyncResult {
  group: string;
  /** The context (course) as the platform names it. */
  context: { id: string | null; label: string | null; title: string | null };
  /** Active learners on the roster. */
  learners: number;
  /** Of them, learners created now. */
  created: number;
  /** Existing learners given the group now. */
  added: number;
  /** Learners of the group not on the roster as active learners, the group taken from them. */
  removed: number;
  skipped: SkippedMember[];
}

/** A member as the platform sent it. */
interface RawMember {
  user_id?: unknown;
  status?: unknown;
  roles?: unknown;
  name?: unknown;
}

/** What is kept of a member (a page's JSON is dropped once read): learners only. */
interface Member {
  userId: unknown;
  active: boolean;
  name: unknown;
}

/** The platform refused, failed, or answered something that is not a roster. */
function platformError(reason: string, status: number | null = null): AppError {
  return serviceError('membership service', reason, status);
}

/** A learner role: the LIS v2 context role or one of its sub-roles, the short name, or the LTI 1.1 URN. */
export function isLearnerRole(role: unknown): boolean {
  return typeof role === 'string'
    && (role === 'Learner' || role.endsWith('/membership#Learner') || role.includes('/membership/Learner#') || role === 'urn:lti:role:ims/lis/Learner' || role.startsWith('urn:lti:role:ims/lis/Learner/'));
}

/** The `rel="next"` target of a Link header, resolved against the page's URL; null when none. */
export function nextLink(header: string | string[] | undefined, base: string): string | null {
  const values = Array.isArray(header) ? header : header ? [header] : [];
  for (const value of values) {
    for (const part of value.split(/,(?=\s*<)/)) {
      const m = /^\s*<([^>]*)>(.*)$/.exec(part);
      if (!m) continue;
      const rel = /;\s*rel\s*=\s*(?:"([^"]*)"|([^;\s]+))/i.exec(m[2]!);
      const rels = (rel?.[1] ?? rel?.[2] ?? '').toLowerCase().split(/\s+/);
      if (!rels.includes('next')) continue;
      if (!URL.canParse(m[1]!, base)) throw platformError(`the next page's link (${JSON.stringify(m[1]!.slice(0, 200))}) is not a URL.`);
      return new URL(m[1]!, base).toString();
    }
  }
  return null;
}

/** Every page of the roster, with one fresh token and one more try after a 401 or 403. */
async function readRoster(tokens: LtiTokenClient, get: HttpGet, platform: Parameters<LtiTokenClient['token']>[0], firstUrl: string) {
  const origin = new URL(firstUrl).origin;
  const members: Member[] = [];
  const visited = new Set<string>();
  const deadline = Date.now() + MAX_ROSTER_MS;
  let bytes = 0;
  let listed = 0;
  let context: SyncResult['context'] = { id: null, label: null, title: null };
  let unstorableContextId = false;
  let url: string | null = firstUrl;
  for (let page = 0; url; page++) {
    if (page === MAX_PAGES) throw platformError(`more than ${MAX_PAGES} pages.`);
    if (visited.has(url)) throw platformError(`the next page (${url}) was read already: the pages loop.`);
    if (Date.now() > deadline) throw platformError(`the roster took more than ${MAX_ROSTER_MS / 1000} s to read.`);
    visited.add(url);
    const answer = await fetchPage(tokens, get, platform, url);
    bytes += Buffer.byteLength(answer.text);
    if (bytes > MAX_ROSTER_BYTES) throw platformError(`the roster is larger than ${MAX_ROSTER_BYTES} bytes.`);
    let body: { context?: { id?: unknown; label?: unknown; title?: unknown }; members?: unknown };
    try {
      body = JSON.parse(answer.text);
    } catch {
      throw platformError('a page is not JSON (or was cut off).', answer.status);
    }
    if (!body || !Array.isArray(body.members)) throw platformError('a page has no members list.', answer.status);
    if (page === 0 && body.context) {
      // Strings text cannot hold (a NUL) are dropped; an unstorable id is refused below if it would name the group.
      const str = (v: unknown) => (typeof v === 'string' && v && !unstorableReason(v) ? v : null);
      if (typeof body.context.id === 'string' && unstorableReason(body.context.id)) unstorableContextId = true;
      context = { id: str(body.context.id), label: str(body.context.label), title: str(body.context.title) };
    }
    listed += body.members.length;
    if (listed > MAX_MEMBERS) throw platformError(`more than ${MAX_MEMBERS} members.`);
    for (const m of body.members as RawMember[]) {
      if (m && Array.isArray(m.roles) && m.roles.some(isLearnerRole)) members.push({ userId: m.user_id, active: (m.status ?? 'Active') === 'Active', name: m.name });
    }
    url = nextLink(answer.headers.link, url);
    // The token goes with every page: only to the service's own origin.
    if (url && new URL(url).origin !== origin) throw platformError(`the next page (${url}) is on another origin than the service.`);
  }
  return { members, context, unstorableContextId };
}

async function fetchPage(tokens: LtiTokenClient, get: HttpGet, platform: Parameters<LtiTokenClient['token']>[0], url: string) {
  try {
    for (let refresh = false; ; refresh = true) {
      const token = await tokens.token(platform, url, { scope: NRPS_SCOPE, refresh });
      const answer = await get(url, { headers: { authorization: `Bearer ${token}`, accept: MEMBERSHIP_MEDIA_TYPE } });
      // 401: the token was refused. 403: it may have been granted before the platform allowed the
      // scope (a platform grants only the scopes allowed, and the token is cached): one fresh try.
      if ((answer.status === 401 || answer.status === 403) && !refresh) continue;
      if (answer.status < 200 || answer.status >= 300) throw platformError(`${url} answered ${answer.status}.`, answer.status);
      if (Buffer.byteLength(answer.text) > MAX_PAGE_BYTES) throw platformError(`a page is larger than ${MAX_PAGE_BYTES} bytes.`, answer.status);
      return answer;
    }
  } catch (e) {
    // The code only: the message may say what an internal name resolves to.
    if (e instanceof TokenError) throw platformError(`the token endpoint refused (HTTP ${e.status ?? 'no answer'}).`, e.status);
    if (e instanceof OutboundError) throw platformError(`no answer (${e.code}).`);
    if (e instanceof UnboundOriginError) throw platformError(e.message);
    throw e;
  }
}

/** Why an erased learner listed by the roster was not created again. */
export const ERASED_REASON = 'erased (eraseLearner); createLearner brings them back';

/** At most this much of a user id is echoed in `skipped`. */
const ECHO_CHARS = 200;

/**
 * Active learners by user id, sorted (so concurrent writers lock rows in one order), and the members
 * skipped. A user listed more than once (once per section, say) is active when any entry is.
 */
function activeLearners(members: Member[]) {
  const learners = new Map<string, string | null>();
  const skipped: SkippedMember[] = [];
  for (const m of members) {
    if (typeof m.userId !== 'string') {
      skipped.push({ userId: String(m.userId ?? '').slice(0, ECHO_CHARS), reason: 'user_id must be a string' });
      continue;
    }
    const userId = m.userId.trim();
    if (!userId || userId.length > 200) {
      skipped.push({ userId: m.userId.slice(0, ECHO_CHARS), reason: 'user_id must be 1 to 200 characters' });
      continue;
    }
    const unstorable = unstorableReason(userId);
    if (unstorable) {
      skipped.push({ userId: userId.slice(0, ECHO_CHARS), reason: `user_id contains ${unstorable}` });
      continue;
    }
    if (!m.active) continue;
    const name = typeof m.name === 'string' && m.name.trim() && [...m.name.trim()].length <= MAX_DISPLAY_NAME_LENGTH && !unstorableReason(m.name) ? m.name.trim() : null;
    learners.set(userId, learners.get(userId) ?? name);
  }
  return { learners: new Map([...learners].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))), skipped };
}

/**
 * Reads the course's roster from the platform's context memberships service and applies it to the
 * organisation's learners (see the file comment). NOT_FOUND for another organisation's platform;
 * BAD_USER_INPUT for a URL or group that is not one; LTI_PLATFORM_ERROR when the platform refuses,
 * fails or answers something that is not a roster (`extensions.status`, `reason`).
 */
export async function syncLtiMembers(
  deps: { prisma: PrismaClient; tokens: LtiTokenClient; get: HttpGet; policy: AddressPolicy; allowHttp: boolean },
  input: SyncInput,
  actor: Actor,
): Promise<SyncResult> {
  const { prisma } = deps;
  // The token goes with the request: https unless the operator allows http, an address the policy allows.
  const url = validateEndpointUrl(httpUrl('contextMembershipsUrl', input.contextMembershipsUrl), deps.policy, deps.allowHttp, 'input.contextMembershipsUrl');
  const requestedGroup = input.group == null ? null : input.group.trim();
  if (requestedGroup !== null && (!requestedGroup || requestedGroup.length > MAX_GROUP_LENGTH)) {
    throw badInput(`group must be 1 to ${MAX_GROUP_LENGTH} characters.`, 'input.group', { max: MAX_GROUP_LENGTH });
  }
  const platform = await prisma.ltiPlatform.findFirst({ where: { id: input.platformId, organizationId: input.organizationId } });
  if (!platform) throw new AppError('NOT_FOUND', 'No LtiPlatform with that id.');
  // The NRPS token goes with every page, the client assertion to the token endpoint: the platform's origins only.
  refuseUnbound(platform, 'input.contextMembershipsUrl', url);
  refuseUnboundPlatform(platform);

  const roster = await readRoster(deps.tokens, deps.get, platform, url);
  const group = requestedGroup ?? roster.context.id?.trim() ?? null;
  if (!group && roster.unstorableContextId) throw platformError('the roster\'s context id contains a character text cannot hold (a NUL or an unpaired surrogate); pass group.');
  if (!group) throw platformError('the roster names no context id; pass group.');
  if (group.length > MAX_GROUP_LENGTH) throw badInput(`The context id is over ${MAX_GROUP_LENGTH} characters; pass group.`, 'input.group');
  const { learners, skipped } = activeLearners(roster.members);
  const userIds = [...learners.keys()];

  return prisma.$transaction(async (tx) => {
    // One sync of a group at a time in the organisation: two would otherwise race on its members.
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(${ROSTER_LOCK}::int, hashtext(${`${input.organizationId}/${group}`}))`;
    let created = 0;
    for (let i = 0; i < userIds.length; i += INSERT_CHUNK) {
      const chunk = userIds.slice(i, i + INSERT_CHUNK);
      const made = await createMissingLearners(tx, input.organizationId, chunk.map((externalId) => ({ externalId, displayName: learners.get(externalId), groups: [group] })));
      created += made.created;
      for (const userId of made.erased) skipped.push({ userId, reason: ERASED_REASON });
    }
    // Existing learners (and any created meanwhile by someone else) get the group, unless full.
    const added = await tx.$queryRaw<{ externalId: string }[]>`
      UPDATE "Learner" SET "groups" = array_append("groups", ${group})
       WHERE "organizationId" = ${input.organizationId}::uuid AND "externalId" = ANY(${userIds}::text[])
         AND NOT ("groups" @> ARRAY[${group}]::text[]) AND cardinality("groups") < ${MAX_GROUPS}
       RETURNING "externalId"`;
    const listed = await tx.$queryRaw<{ externalId: string; inGroup: boolean }[]>`
      SELECT "externalId", "groups" @> ARRAY[${group}]::text[] AS "inGroup" FROM "Learner"
       WHERE "organizationId" = ${input.organizationId}::uuid AND "externalId" = ANY(${userIds}::text[])`;
    for (const f of listed) if (!f.inGroup) skipped.push({ userId: f.externalId, reason: `already in ${MAX_GROUPS} groups` });
    // A learner whose erasure was under way when the insert met them (locked, not yet deleted) was
    // neither created nor, once the erasure committed, given the group: report them as erased too.
    const reported = new Set([...listed.map((l) => l.externalId), ...skipped.map((k) => k.userId)]);
    for (const userId of await erasedAmong(tx, input.organizationId, userIds.filter((id) => !reported.has(id)))) {
      skipped.push({ userId, reason: ERASED_REASON });
    }
    // An empty roster removes no one: a platform answering an empty page by mistake would otherwise
    // empty the cohort (a course whose learners all left is cleared with updateLearner).
    const removed = userIds.length === 0 ? 0 : await tx.$executeRaw`
      UPDATE "Learner" SET "groups" = array_remove("groups", ${group})
       WHERE "organizationId" = ${input.organizationId}::uuid AND "groups" @> ARRAY[${group}]::text[]
         AND NOT ("externalId" = ANY(${userIds}::text[]))`;
    const result: SyncResult = { group, context: roster.context, learners: userIds.length, created, added: added.length, removed, skipped };
    await recordAudit(tx, {
      organizationId: input.organizationId, actor, action: 'ltiPlatform.membersSynced', targetType: 'LtiPlatform', targetId: platform.id,
      details: { contextMembershipsUrl: url, group, learners: result.learners, created, added: result.added, removed, skipped: skipped.length },
    });
    return result;
  });
}
