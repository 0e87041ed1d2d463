/**
 * Gradebook columns made by speechmark itself: AGS's line items service. Given the course's line
 * items container URL (the launch's `https://purl.imsglobal.org/spec/lti-ags/claim/endpoint` →
 * `lineitems`), a new line item is POSTed there (token scope `.../lti-ags/scope/lineitem`), and the
 * URL the platform gives it is mapped as createLtiLineItem maps one typed in: from then on it is
 * an ordinary mapping (scores, updates, deletion of the mapping).
 *
 * Everything that can be checked is checked before the platform is asked, so a refused input leaves
 * no orphan column in the gradebook.
 */
import type { LtiGradingPolicy, LtiScoreAspect, PrismaClient } from '../generated/prisma/client.js';
import { AppError, badInput } from '../errors.js';
import type { Actor } from '../admin/audit.js';
import { validateEndpointUrl, type AddressPolicy } from '../outbox/address-policy.js';
import { OutboundError } from '../outbox/http.js';
import { createLtiLineItem, httpUrl, checkLineItemFields } from './platforms.js';
import { platformError } from './platform-error.js';
import { TokenError, type LtiTokenClient } from './token.js';
import type { HttpPost } from './http.js';
import { refuseUnbound, refuseUnboundPlatform } from './origins.js';

export const AGS_LINEITEM_SCOPE = 'https://purl.imsglobal.org/spec/lti-ags/scope/lineitem';
export const LINEITEM_MEDIA_TYPE = 'application/vnd.ims.lis.v2.lineitem+json';
/** AGS caps nothing here; these keep the request and the stored label sane. */
const MAX_TAG_CHARS = 256;

export interface PlatformLineItemInput {
  platformId: string;
  /** The course's line items container URL. */
  lineItemsUrl: string;
  aspect: LtiScoreAspect;
  scoreMaximum: number;
  /** The column's title in the gradebook; by default "Pronunciation (<aspect>)". */
  label?: string | null;
  /** The tool's own id of the activity the column grades (AGS `resourceId`). */
  resourceId?: string | null;
  /** The platform's resource link the column belongs to (AGS `resourceLinkId`). */
  resourceLinkId?: string | null;
  /** A tag of the tool's own (AGS `tag`), to tell its columns apart. */
  tag?: string | null;
  /** How the user's readings make the grade; LATEST when not given. */
  gradingPolicy?: LtiGradingPolicy | null;
}

/** What createLtiLineItem takes: an existing line item (`url`), or where to make one (`lineItemsUrl`). */
export type LineItemRequest = Omit<PlatformLineItemInput, 'lineItemsUrl'> & { url?: string | null; lineItemsUrl?: string | null };

export interface LineItemServiceDeps {
  prisma: PrismaClient;
  tokens: LtiTokenClient;
  post: HttpPost;
  policy: AddressPolicy;
  allowHttp: boolean;
}

/**
 * createLtiLineItem's one entry: maps an existing line item, or makes one on the platform and maps
 * it. Exactly one of `url` and `lineItemsUrl`; the AGS fields only with `lineItemsUrl`.
 */
export async function createLineItem(deps: LineItemServiceDeps, organizationId: string, input: LineItemRequest, actor: Actor) {
  if ((input.url == null) === (input.lineItemsUrl == null)) {
    throw badInput('Give url (a line item that exists) or lineItemsUrl (to make one), one of them.', ['input.url', 'input.lineItemsUrl']);
  }
  if (input.url != null) {
    const extra = (['resourceId', 'resourceLinkId', 'tag'] as const).find((f) => input[f] != null);
    if (extra) throw badInput(`${extra} is for a line item made now (lineItemsUrl).`, [`input.${extra}`, 'input.url']);
    const { platformId, url, aspect, scoreMaximum, label, gradingPolicy } = input;
    return createLtiLineItem(deps.prisma, organizationId, { platformId, url, aspect, scoreMaximum, label, gradingPolicy }, actor, deps);
  }
  return createLineItemOnPlatform(deps, organizationId, { ...input, lineItemsUrl: input.lineItemsUrl! }, actor);
}

function optional(field: string, value: string | null | undefined): string | undefined {
  if (value == null) return undefined;
  const trimmed = value.trim();
  if (!trimmed || [...trimmed].length > MAX_TAG_CHARS) throw badInput(`${field} must be 1 to ${MAX_TAG_CHARS} characters.`, `input.${field}`);
  return trimmed;
}

const SERVICE = 'line items service';

/**
 * The new line item's URL: the answer's `id`, else its Location header. It must be on the
 * container's origin and pass the rules the container did: every score is posted there with a token.
 */
function createdUrl(answer: { text: string; status: number; headers: Record<string, string | string[] | undefined> }, container: string, deps: LineItemServiceDeps): string {
  let id: unknown;
  try {
    id = (JSON.parse(answer.text) as { id?: unknown })?.id;
  } catch {
    id = undefined;
  }
  const location = answer.headers.location;
  const raw = typeof id === 'string' ? id : typeof location === 'string' ? new URL(location, container).toString() : null;
  if (raw === null) throw platformError(SERVICE, 'the answer names no line item (no id, no Location).', answer.status);
  let url: string;
  try {
    url = validateEndpointUrl(httpUrl('id', raw), deps.policy, deps.allowHttp, 'id');
  } catch {
    throw platformError(SERVICE, 'the created line item\'s id is not a URL this server may post scores to.', answer.status);
  }
  if (new URL(url).origin !== new URL(container).origin) {
    throw platformError(SERVICE, 'the created line item is on another origin than the service.', answer.status);
  }
  return url;
}

/**
 * Creates a line item in the platform's gradebook and maps it (createLtiLineItem). NOT_FOUND for
 * another organisation's platform, BAD_USER_INPUT for input that is not valid (nothing is sent),
 * LTI_PLATFORM_ERROR when the platform refuses or fails (nothing is mapped; when the column may
 * have been made all the same, the error says so and names it when known).
 */
export async function createLineItemOnPlatform(deps: LineItemServiceDeps, organizationId: string, input: PlatformLineItemInput, actor: Actor) {
  const container = validateEndpointUrl(httpUrl('lineItemsUrl', input.lineItemsUrl), deps.policy, deps.allowHttp, 'input.lineItemsUrl');
  const { label } = checkLineItemFields({ scoreMaximum: input.scoreMaximum, label: input.label ?? `Pronunciation (${input.aspect.toLowerCase()})` });
  const fields = { resourceId: optional('resourceId', input.resourceId), resourceLinkId: optional('resourceLinkId', input.resourceLinkId), tag: optional('tag', input.tag) };
  const body = { scoreMaximum: input.scoreMaximum, label, ...Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) };
  const platform = await deps.prisma.ltiPlatform.findFirst({ where: { id: input.platformId, organizationId } });
  if (!platform) throw new AppError('NOT_FOUND', 'No such LTI platform.');
  // The lineitem token goes to the container, the client assertion to the token endpoint: the platform's origins only.
  refuseUnbound(platform, 'input.lineItemsUrl', container);
  refuseUnboundPlatform(platform);
  let url: string;
  try {
    url = await postLineItem(deps, platform, container, JSON.stringify(body));
  } catch (e) {
    if (e instanceof TokenError) throw platformError(SERVICE, `the token endpoint refused (HTTP ${e.status ?? 'no answer'}).`, e.status);
    if (e instanceof OutboundError) {
      throw platformError(SERVICE, `no answer (${e.code}).${e.code === 'TIMEOUT' ? ' The line item may have been made all the same: look in the gradebook before trying again.' : ''}`);
    }
    throw e;
  }
  try {
    return await createLtiLineItem(
      deps.prisma, organizationId,
      { platformId: platform.id, url, aspect: input.aspect, scoreMaximum: input.scoreMaximum, label, gradingPolicy: input.gradingPolicy },
      actor,
      deps,
    );
  } catch (e) {
    // Made on the platform but not mapped here (a platform that answered an id mapped already):
    // name it, so it can be mapped by url or removed from the gradebook.
    if (e instanceof AppError) throw new AppError(e.code, `${e.message} The platform made the line item ${url}.`, { ...(e.extensions as object), lineItemUrl: url });
    throw e;
  }
}

/** POSTs the line item, with one fresh token after a 401 or 403; returns its URL. */
async function postLineItem(deps: LineItemServiceDeps, platform: Parameters<LtiTokenClient['token']>[0], container: string, body: string) {
  for (let refresh = false; ; refresh = true) {
    const token = await deps.tokens.token(platform, container, { scope: AGS_LINEITEM_SCOPE, refresh });
    const answer = await deps.post(container, {
      headers: { authorization: `Bearer ${token}`, 'content-type': LINEITEM_MEDIA_TYPE, accept: LINEITEM_MEDIA_TYPE },
      body,
    });
    // As for a roster page: a refused (401) or possibly stale-scoped (403) cached token, one fresh try.
    if ((answer.status === 401 || answer.status === 403) && !refresh) continue;
    if (answer.status < 200 || answer.status >= 300) {
      throw platformError(SERVICE, `${container} answered ${answer.status}.`, answer.status);
    }
    return createdUrl(answer, container, deps);
  }
}
