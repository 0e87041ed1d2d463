/**
 * What clients see of errors. Our codes (and Apollo's request-shape errors) pass through as they
 * are; anything else is masked, logged whole with the request id, and reaches the client only as
 * INTERNAL_SERVER_ERROR (or SERVICE_UNAVAILABLE when the database is down) carrying that id; a
 * write whose target was deleted meanwhile is NOT_FOUND.
 * Shared by HTTP (Apollo) and WebSocket subscriptions (graphql-ws).
 */
import type { ApolloServerPlugin } from '@apollo/server';
import type { GraphQLFormattedError } from 'graphql';
import { ERROR_CODES } from '../errors.js';
import { isDatabaseUnavailable, isForeignKeyViolation } from '../db/errors.js';
import type { RequestContext } from './context.js';
import { log } from '../ops/log.js';

/** Codes that may reach clients as they are: ours, plus Apollo's request-shape errors. */
const PASS_THROUGH = new Set<string>([
  ...ERROR_CODES,
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'OPERATION_RESOLUTION_FAILURE',
]);

/**
 * Unexpected errors (database, bugs) are logged whole with the request id and shown to clients
 * only as INTERNAL_SERVER_ERROR carrying that id (`extensions.requestId`, also the X-Request-Id
 * response header), so a report can be matched with the log line. Stack traces reach clients only
 * in development mode (SPEECHMARK_DEV), where Apollo adds them.
 *
 * formatError masks; the id comes from the request's context, added to the masked errors and the
 * log line by `maskedErrorsCarryRequestId` (Apollo's formatError does not see the context, and an
 * AsyncLocalStorage scope around each request cost every promise of the request a hook).
 */
export const DATABASE_UNAVAILABLE = 'The database is unavailable right now; retry shortly.';
/**
 * A write whose target was deleted after the resolver loaded it (a deleteUtterance, an erasure,
 * a learner or endpoint removed, committing meanwhile): the database refuses the row that points
 * to it (a foreign-key violation) and the write's transaction rolls back. Not a bug to mask: the
 * answer the client would get a moment later.
 */
export const DELETED_MEANWHILE = 'A record this request refers to was deleted while the request ran.';
const MASKED_CODES = new Set(['INTERNAL_SERVER_ERROR', 'SERVICE_UNAVAILABLE']);

export function passesThrough(code: unknown): boolean {
  return typeof code === 'string' && PASS_THROUGH.has(code) && code !== 'INTERNAL_SERVER_ERROR';
}

function originalOf(error: unknown): unknown {
  return (error as { originalError?: unknown })?.originalError ?? error;
}

/** graphql-js's refusals of a variable's value: `Variable "$i" got invalid value … at "i.scopes[1]"; …`, `… of required type …`. */
const VARIABLE_REFUSED = /^Variable "\$([_A-Za-z][_0-9A-Za-z]*)" (?:got invalid value|of required type|of non-null type)/;
const VALUE_PATH = / at "([^"]+)"; /;

/**
 * A variable whose value the request's own coercion refused (BAD_USER_INPUT with no path: no field
 * ran) is named as `argument` is for a field's input (README, "Errors"): `extensions.variable` is
 * the dotted path into the request's variables, list positions as numbers (`i.scopes.1`).
 */
function withVariable(formatted: GraphQLFormattedError): GraphQLFormattedError {
  if (formatted.extensions?.code !== 'BAD_USER_INPUT' || formatted.path || formatted.extensions.variable !== undefined) return formatted;
  const named = VARIABLE_REFUSED.exec(formatted.message);
  if (!named) return formatted;
  const inside = VALUE_PATH.exec(formatted.message)?.[1];
  const variable = inside && inside.startsWith(named[1]!) ? inside.replace(/\[(\d+)\]/g, '.$1') : named[1]!;
  return { ...formatted, extensions: { ...formatted.extensions, variable } };
}

export function createFormatError(dev = false) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    if (passesThrough(formatted.extensions?.code)) return withVariable(formatted);
    // An id attached where the request was known (context creation) survives the masking.
    const carried = formatted.extensions?.requestId;
    const requestId = typeof carried === 'string' ? { requestId: carried } : {};
    if (isDatabaseUnavailable(originalOf(error))) {
      // Not a bug: the database restarted or dropped the connection. Worth a retry by the client.
      return { message: DATABASE_UNAVAILABLE, locations: formatted.locations, path: formatted.path, extensions: { code: 'SERVICE_UNAVAILABLE', ...requestId } };
    }
    if (isForeignKeyViolation(originalOf(error))) {
      return { message: DELETED_MEANWHILE, locations: formatted.locations, path: formatted.path, extensions: { code: 'NOT_FOUND' } };
    }
    const stacktrace = dev ? formatted.extensions?.stacktrace : undefined;
    return {
      message: 'Internal server error.',
      locations: formatted.locations,
      path: formatted.path,
      extensions: { code: 'INTERNAL_SERVER_ERROR', ...requestId, ...(stacktrace ? { stacktrace } : {}) },
    };
  };
}

/** Logs (whole, with the request id) each error that formatError will mask. */
export function logMaskedErrors(errors: readonly { extensions?: Record<string, unknown> }[], requestId: string): void {
  for (const error of errors) {
    if (passesThrough(error.extensions?.code)) continue;
    const original = originalOf(error);
    if (isForeignKeyViolation(original)) {
      log.warn('a write raced a deletion: NOT_FOUND', { requestId, reason: (original as { meta?: unknown })?.meta ?? null });
    } else if (isDatabaseUnavailable(original)) {
      log.error('database unavailable', { requestId, reason: (original as Error)?.message?.split('\n').filter(Boolean).pop() ?? String(original) });
    } else {
      log.error('internal error', { requestId, err: original });
    }
  }
}

/** Puts the request id on masked errors (already formatted) that do not carry one. */
export function tagMaskedErrors(errors: readonly GraphQLFormattedError[], requestId: string): void {
  for (const error of errors) {
    const code = error.extensions?.code;
    if (typeof code === 'string' && MASKED_CODES.has(code) && error.extensions?.requestId === undefined) {
      (error.extensions as Record<string, unknown>).requestId = requestId;
    }
  }
}

/** Apollo's side: formatError masks, this plugin logs and tags with the context's request id. */
export function maskedErrorsCarryRequestId(): ApolloServerPlugin<RequestContext> {
  return {
    async requestDidStart() {
      return {
        async didEncounterErrors({ errors, contextValue }) {
          logMaskedErrors(errors, contextValue.requestId);
        },
        async willSendResponse({ response, contextValue }) {
          if (response.body.kind === 'single') tagMaskedErrors(response.body.singleResult.errors ?? [], contextValue.requestId);
        },
      };
    },
  };
}
