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
import type { LtiScoreAspect, PrismaClient } from '../generated/prisma/client.js';
import { AppError } from '../errors.js';
import type { Actor } from '../admin/audit.js';
import { validateEndpointUrl, type AddressPolicy } from '../outbox/address-policy.js';
import { OutboundError } from '../outbox/http.js';
import { createLtiLineItem, httpUrl, checkLineItemFields } from './platforms.js';
import { platformError } from './platform-error.js';
import { TokenError, type LtiTokenClient } from './token.js';
import type { HttpPost } from './http.js';

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
  /** The platform's resource link id the column belongs to, when it should belong to one. */
  resourceId?: string | null;
  /** A tag of the tool's own (AGS `tag`), to tell its columns apart. */
  tag?: string | null;
}

function optional(field: string, value: string | null | undefined): string | undefined {
  if (value == null) return undefined;
  const trimmed = value.trim();
  if (!trimmed || trimmed.length > MAX_TAG_CHARS) throw new AppError('BAD_USER_INPUT', `${field} must be 1 to ${MAX_TAG_CHARS} characters.`, { field });
  return trimmed;
}

/** The new line item's URL from the platform's answer (`id`), or LTI_PLATFORM_ERROR. */
function createdUrl(text: string, status: number): string {
  let body: { id?: unknown };
  try {
    body = JSON.parse(text);
  } catch {
    throw platformError('line items service', 'the created line item is not JSON.', status);
  }
  if (typeof body?.id !== 'string') throw platformError('line items service', 'the created line item has no id.', status);
  try {
    return httpUrl('id', body.id);
  } catch {
    throw platformError('line items service', 'the created line item\'s id is not an http(s) URL.', status);
  }
}

/**
 * Creates a line item in the platform's gradebook and maps it (createLtiLineItem). NOT_FOUND for
 * another organisation's platform, BAD_USER_INPUT for input that is not valid (nothing is sent),
 * LTI_PLATFORM_ERROR when the platform refuses or fails (nothing is mapped).
 */
export async function createLineItemOnPlatform(
  deps: { prisma: PrismaClient; tokens: LtiTokenClient; post: HttpPost; policy: AddressPolicy; allowHttp: boolean },
  organizationId: string,
  input: PlatformLineItemInput,
  actor: Actor,
) {
  const container = validateEndpointUrl(httpUrl('lineItemsUrl', input.lineItemsUrl), deps.policy, deps.allowHttp);
  const { label } = checkLineItemFields({ scoreMaximum: input.scoreMaximum, label: input.label ?? `Pronunciation (${input.aspect.toLowerCase()})` });
  const body = {
    scoreMaximum: input.scoreMaximum,
    label,
    ...(optional('resourceId', input.resourceId) ? { resourceId: optional('resourceId', input.resourceId) } : {}),
    ...(optional('tag', input.tag) ? { tag: optional('tag', input.tag) } : {}),
  };
  const platform = await deps.prisma.ltiPlatform.findFirst({ where: { id: input.platformId, organizationId } });
  if (!platform) throw new AppError('NOT_FOUND', 'No such LTI platform.');
  let url: string;
  try {
    url = await postLineItem(deps, platform, container, JSON.stringify(body));
  } catch (e) {
    if (e instanceof TokenError) throw platformError('line items service', `the token endpoint refused (${e.message}).`, e.status);
    if (e instanceof OutboundError) throw platformError('line items service', `no answer (${e.code}: ${e.message}).`);
    throw e;
  }
  return createLtiLineItem(deps.prisma, organizationId, { platformId: platform.id, url, aspect: input.aspect, scoreMaximum: input.scoreMaximum, label }, actor);
}

/** POSTs the line item, with one fresh token after a 401; returns its URL. */
async function postLineItem(deps: { tokens: LtiTokenClient; post: HttpPost }, platform: Parameters<LtiTokenClient['token']>[0], container: string, body: string) {
  for (let refresh = false; ; refresh = true) {
    const token = await deps.tokens.token(platform, { scope: AGS_LINEITEM_SCOPE, refresh });
    const answer = await deps.post(container, {
      headers: { authorization: `Bearer ${token}`, 'content-type': LINEITEM_MEDIA_TYPE, accept: LINEITEM_MEDIA_TYPE },
      body,
    });
    if (answer.status === 401 && !refresh) continue;
    if (answer.status < 200 || answer.status >= 300) {
      throw platformError('line items service', `${container} answered ${answer.status}.`, answer.status);
    }
    return createdUrl(answer.text, answer.status);
  }
}
