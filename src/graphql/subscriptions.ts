/**
 * GraphQL subscriptions over WebSocket (graphql-ws, subprotocol `graphql-transport-ws`) on the HTTP
 * server's `/graphql` path, with what HTTP requests get:
 * - the API key, from the `connection_init` payload (`authorization: "Bearer <key>"`) or the upgrade
 *   request's Authorization header; a missing, unknown, revoked or expired key closes the socket
 *   with 4401 (a failed attempt counts against the address, like HTTP; an address over its failure
 *   limit is closed with 4429);
 * - per operation: the per-key rate limit (one request), the query limits of ./limits.ts, parse and
 *   validation, the key authenticated again, and a fresh context with scope-aware loaders;
 * - errors with the same stable codes, unexpected ones masked (server.ts's formatError);
 * - caps, per API process: open connections and open connections per API key (beyond either, a
 *   new one is closed with 1013 Try Again Later, which graphql-ws clients retry with backoff;
 *   4429 would end them for good) and active subscriptions per API key
 *   (a subscribe beyond is answered RATE_LIMITED with `limit: "subscriptionsPerKey"`), so one key
 *   cannot hold the process's sockets or memory;
 * - a key that stops being valid (revoked, expired, rotated away) closes its sockets with 4401: when
 *   an event's delivery finds it so, on a check of every connected key every `keyCheckMs` (30 s),
 *   and at once when this process revokes a key or brings an expiry forward.
 * Only subscriptions: queries and mutations are refused (BAD_REQUEST) and go over HTTP, where
 * uploads, CSRF prevention and the HTTP guards apply.
 */
import type http from 'node:http';
import { randomUUID } from 'node:crypto';
import { WebSocketServer } from 'ws';
import { useServer } from 'graphql-ws/use/ws';
import type { Context as WsContext } from 'graphql-ws';
import {
  getOperationAST,
  getVariableValues,
  GraphQLError,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type ExecutionArgs,
  type GraphQLFormattedError,
  type GraphQLSchema,
} from 'graphql';
import { AppError } from '../errors.js';
import { isDatabaseUnavailable } from '../db/errors.js';
import { authenticate, bearerToken, hashApiKey, onApiKeysForgotten, type Principal } from './auth.js';
import { log } from '../ops/log.js';
import { createLoaders } from './loaders.js';
import type { RequestContext, Services } from './context.js';
import { checkOperation, checkQuerySource, rejectUnstorableStrings } from './limits.js';
import type { RateLimiter } from '../http/guards.js';
import { logMaskedErrors, tagMaskedErrors } from './format-error.js';
import type { ApolloServerPlugin } from '@apollo/server';

/** graphql-ws close codes (4400-4499 mirror HTTP statuses, as the protocol's own 4400/4401/4403 do). */
export const CLOSE_UNAUTHORIZED = 4401;
export const CLOSE_TOO_MANY_FAILURES = 4429;
export const CLOSE_SERVICE_UNAVAILABLE = 4503;
/** The standard WebSocket "Try Again Later": the process, or the key, holds as many connections as it may. */
export const CLOSE_TRY_AGAIN_LATER = 1013;

/** How long a stopping server waits for clients to answer its close frame before dropping them. */
const CLOSE_HANDSHAKE_MS = 2_000;

/** How often the keys of open sockets are authenticated again (a key revoked elsewhere, or expired). */
export const DEFAULT_KEY_CHECK_MS = 30_000;

/** Largest message a client may send; an operation is far smaller (maxQueryChars and variables). */
const MAX_MESSAGE_BYTES = 1024 * 1024;
/** A subscribe's id is kept while the subscription runs; clients use counters or UUIDs. */
const MAX_SUBSCRIPTION_ID_CHARS = 128;

type FormatError = (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;

interface Connection {
  authorization: string;
  principal: Principal;
  keyHash: string;
}

type Extra = {
  socket: import('ws').WebSocket;
  request: http.IncomingMessage;
  connection?: Connection;
  /** Per operation id: the id logged with an unexpected error and shown to the client. */
  requestIds?: Map<string, string>;
};

/** The Authorization value: connection_init's `authorization` (or `Authorization`), else the upgrade header. */
function authorizationOf(params: Record<string, unknown> | undefined, request: http.IncomingMessage): string | undefined {
  const sent = params?.authorization ?? params?.Authorization;
  if (typeof sent === 'string') return sent;
  return request.headers.authorization;
}

function closeReason(message: string): string {
  // WebSocket close reasons are at most 123 bytes.
  return Buffer.byteLength(message) <= 123 ? message : `${Buffer.from(message).subarray(0, 120).toString()}...`;
}

function requestError(code: string, error: GraphQLError): GraphQLError {
  return new GraphQLError(error.message, { nodes: error.nodes, source: error.source, positions: error.positions, extensions: { ...error.extensions, code } });
}

export interface SubscriptionServer {
  dispose(): Promise<void>;
}

export interface SubscriptionServerOptions {
  /** How often each connected key is authenticated again (ms); DEFAULT_KEY_CHECK_MS. */
  keyCheckMs?: number;
  /**
   * The client's address as HTTP requests get it (Express's `req.ip`, which believes the
   * `SPEECHMARK_TRUST_PROXY` proxies' X-Forwarded-For); the socket's peer when not given. Behind a
   * proxy the peer is the proxy: one client's failed logins would lock every client out.
   */
  clientIp?: (request: http.IncomingMessage) => string | undefined;
}

type AnyWsContext = WsContext<Record<string, unknown>, Extra>;

/**
 * Closes the socket with 4401 after what is being sent now (an error message) has gone: the key it
 * authenticated with is no longer valid, so nothing it holds may go on (nor count against the caps).
 */
function closeUnauthorized(socket: import('ws').WebSocket, message: string): void {
  setImmediate(() => {
    if (socket.readyState === socket.OPEN) socket.close(CLOSE_UNAUTHORIZED, closeReason(`UNAUTHENTICATED: ${message}`));
  });
}

export function startSubscriptionServer(
  httpServer: http.Server,
  schema: GraphQLSchema,
  services: Services,
  limiter: RateLimiter,
  formatError: FormatError,
  options: SubscriptionServerOptions = {},
): SubscriptionServer {
  const { prisma, config } = services;
  const keyCheckMs = options.keyCheckMs ?? config.wsKeyCheckMs ?? DEFAULT_KEY_CHECK_MS;
  const wss = new WebSocketServer({ server: httpServer, path: '/graphql', maxPayload: MAX_MESSAGE_BYTES });
  /** Accepted connections by API key hash: the caps count these (their `subscriptions` are graphql-ws's own). */
  const byKey = new Map<string, Set<WsContext<Record<string, unknown>, Extra>>>();
  let accepted = 0;
  const subscriptionsOf = (keyHash: string) =>
    [...(byKey.get(keyHash) ?? [])].reduce((n, c) => n + Object.keys(c.subscriptions).length, 0);
  const format = (ctx: WsContext<Record<string, unknown>, Extra>, id: string, errors: readonly GraphQLError[]) => {
    const requestId = ctx.extra.requestIds?.get(id) ?? randomUUID();
    logMaskedErrors(errors, requestId);
    const formatted = errors.map((e) => {
      // `http` (an HTTP status for Apollo) means nothing here and is not for clients.
      const { http: _http, ...extensions } = (e.extensions ?? {}) as Record<string, unknown>;
      return formatError({ ...e.toJSON(), extensions }, e);
    });
    tagMaskedErrors(formatted, requestId);
    return formatted;
  };

  /** The subscription's refusal (over the key's cap, a bad operation, the database away), or what it runs. */
  async function refuseOrPrepare(ctx: AnyWsContext, payload: Parameters<typeof prepareOperation>[1], requestId: string) {
    const connection = ctx.extra.connection!;
    // This subscription is already among its connection's (graphql-ws registers it first).
    if (subscriptionsOf(connection.keyHash) > config.wsMaxSubscriptionsPerKey) {
      return [new AppError('RATE_LIMITED', `At most ${config.wsMaxSubscriptionsPerKey} active subscriptions per API key; complete one first.`, {
        limit: 'subscriptionsPerKey',
        maxSubscriptions: config.wsMaxSubscriptionsPerKey,
      })];
    }
    try {
      return await prepareOperation(connection, payload, requestId);
    } catch (e) {
      if (e instanceof GraphQLError) return [e];
      if (isDatabaseUnavailable(e)) return [new AppError('SERVICE_UNAVAILABLE', 'The database is unavailable right now; retry shortly.')];
      throw e;
    }
  }

  const server = useServer<Record<string, unknown>, Extra>(
    {
      schema,
      connectionInitWaitTimeout: 10_000,
      async onConnect(ctx) {
        const { socket, request } = ctx.extra;
        const ip = (options.clientIp ? options.clientIp(request) : request.socket.remoteAddress) ?? 'unknown';
        const authorization = authorizationOf(ctx.connectionParams, request);
        const token = bearerToken(authorization);
        const knownGood = token ? limiter.isKnownGood(hashApiKey(token)) : false;
        if (limiter.failures.enabled && !knownGood && !limiter.failures.peek(ip).allowed) {
          socket.close(CLOSE_TOO_MANY_FAILURES, 'Too many failed authentications from this address.');
          return false;
        }
        try {
          const principal = await authenticate(prisma, authorization);
          // The client may have gone while the key was looked up: graphql-ws has then already run
          // onClose (with nothing registered), so counting it now would hold its slot for ever.
          if (socket.readyState !== socket.OPEN) return false;
          limiter.authSucceeded(authorization);
          const keyHash = hashApiKey(token!);
          if (accepted >= config.wsMaxConnections) {
            socket.close(CLOSE_TRY_AGAIN_LATER, closeReason(`TOO_MANY_CONNECTIONS: this server holds ${config.wsMaxConnections} connections; retry later.`));
            return false;
          }
          const mine = byKey.get(keyHash) ?? new Set();
          if (mine.size >= config.wsMaxConnectionsPerKey) {
            // Try Again Later, not 4429: graphql-ws clients give up on 4429 for good, and a place
            // frees as soon as one of the key's sockets closes, so a client that backs off gets in.
            socket.close(CLOSE_TRY_AGAIN_LATER, closeReason(`TOO_MANY_CONNECTIONS: at most ${config.wsMaxConnectionsPerKey} open connections per API key; retry later.`));
            return false;
          }
          mine.add(ctx);
          byKey.set(keyHash, mine);
          accepted++;
          ctx.extra.connection = { authorization: authorization!, principal, keyHash };
          return true;
        } catch (e) {
          if (e instanceof AppError && e.code === 'UNAUTHENTICATED') {
            if (limiter.failures.enabled) limiter.failures.take(ip);
            socket.close(CLOSE_UNAUTHORIZED, closeReason(`UNAUTHENTICATED: ${e.message}`));
            return false;
          }
          if (isDatabaseUnavailable(e)) {
            socket.close(CLOSE_SERVICE_UNAVAILABLE, 'The database is unavailable right now; retry shortly.');
            return false;
          }
          throw e;
        }
      },
      onClose(ctx) {
        const keyHash = ctx.extra.connection?.keyHash;
        const mine = keyHash ? byKey.get(keyHash) : undefined;
        if (!mine?.delete(ctx)) return;
        accepted--;
        if (mine.size === 0) byKey.delete(keyHash!);
      },
      async onSubscribe(ctx, id, payload) {
        // The protocol bounds an id only by the message (1 MiB); one is kept while it runs.
        if (id.length > MAX_SUBSCRIPTION_ID_CHARS) {
          return [new AppError('BAD_USER_INPUT', `A subscription id is at most ${MAX_SUBSCRIPTION_ID_CHARS} characters.`, { max: MAX_SUBSCRIPTION_ID_CHARS })];
        }
        const requestId = randomUUID();
        (ctx.extra.requestIds ??= new Map()).set(id, requestId);
        const refused = await refuseOrPrepare(ctx, payload, requestId);
        // A refusal reaches onError (which forgets the id) only while the subscription is still
        // there: a Complete sent before the refusal removed it, and nothing else would.
        if (Array.isArray(refused) && !(id in ctx.subscriptions)) ctx.extra.requestIds.delete(id);
        return refused;
      },
      onNext(ctx, id, _payload, _args, result) {
        if (!result.errors?.length) return undefined;
        return { ...result, errors: format(ctx, id, result.errors) };
      },
      onError(ctx, id, _payload, errors) {
        // The key failed authentication (an event's delivery, or a subscribe): it was revoked or
        // expired since the socket connected, so the whole socket goes, not only this subscription.
        const unauthenticated = errors.find((e) => e.extensions?.code === 'UNAUTHENTICATED');
        if (unauthenticated) closeUnauthorized(ctx.extra.socket, unauthenticated.message);
        const formatted = format(ctx, id, errors);
        // A refused subscribe ends here: graphql-ws runs no onComplete for it, and its id would be kept for the connection's life.
        ctx.extra.requestIds?.delete(id);
        return formatted;
      },
      onComplete(ctx, id) {
        ctx.extra.requestIds?.delete(id);
      },
      // A fault in onConnect/onSubscribe closes the socket (4500) with "Internal server error",
      // never with its own message, whatever NODE_ENV says (like the HTTP errors; SPEECHMARK_DEV
      // shows it, as it shows stack traces there).
      isProd: !config.dev,
    },
    wss,
  );

  /** Everything an HTTP request goes through before it runs, then a fresh context for this operation. */
  async function prepareOperation(
    connection: Connection,
    payload: { query: string; operationName?: string | null; variables?: Record<string, unknown> | null },
    requestId: string,
  ): Promise<ExecutionArgs> {
    const keyHash = hashApiKey(bearerToken(connection.authorization)!);
    if (limiter.keys.enabled) {
      const state = limiter.keys.take(keyHash, 1);
      if (!state.allowed) {
        throw new AppError('RATE_LIMITED', `Rate limit of ${limiter.keys.perMinute} requests a minute reached for this API key; retry in ${state.retryAfterSeconds} s.`, {
          retryAfterSeconds: state.retryAfterSeconds,
        });
      }
    }
    if (typeof payload.query !== 'string') throw new AppError('BAD_USER_INPUT', 'The subscribe message has no query.');
    checkQuerySource(payload.query, config);
    let document: DocumentNode;
    try {
      document = parse(payload.query);
    } catch (e) {
      throw requestError('GRAPHQL_PARSE_FAILED', e as GraphQLError);
    }
    // With introspection off, "Did you mean …?" would walk the schema as introspection does; Apollo
    // hides them over HTTP (hideSchemaDetailsFromClientErrors), this is the WebSocket's equal.
    const hideSuggestions = !config.introspection;
    const invalid = validate(schema, document, specifiedRules, { hideSuggestions });
    if (invalid.length) throw requestError('GRAPHQL_VALIDATION_FAILED', invalid[0]!);
    const operation = getOperationAST(document, payload.operationName ?? undefined);
    if (!operation) throw new AppError('BAD_USER_INPUT', 'Name the operation to run (operationName).');
    if (operation.operation !== 'subscription') {
      throw new GraphQLError('Only subscriptions are served over WebSocket; send queries and mutations over HTTP.', { extensions: { code: 'BAD_REQUEST' } });
    }
    const variables = payload.variables ?? {};
    const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables, { hideSuggestions });
    if (coerced.errors) throw requestError('BAD_USER_INPUT', coerced.errors[0]!);
    checkOperation(schema, document, operation, variables, config);
    rejectUnstorableStrings(document, variables);

    const context: RequestContext = {
      principal: await authenticate(prisma, connection.authorization),
      loaders: null as never,
      services,
      requestId,
      // A subscription writes nothing, so nothing audits its address.
      clientIp: null,
      renew: async () => {
        context.principal = await authenticate(prisma, connection.authorization);
        context.loaders = createLoaders(prisma, context.principal);
      },
    };
    context.loaders = createLoaders(prisma, context.principal);
    return { schema, document, operationName: payload.operationName, variableValues: variables, contextValue: context };
  }

  /**
   * Each connected key authenticated once (its sockets grouped by key hash); a key no longer valid
   * has all its sockets closed with 4401. One check at a time; a request for another while one
   * runs (a revoke meanwhile) runs it again after. A database that is unavailable leaves the
   * sockets open until a later check.
   */
  let checking: Promise<void> | null = null;
  /** How long a stop waits for a key check in progress. */
  const CHECK_STOP_WAIT_MS = 2_000;
  let checkAgain = false;
  let stopped = false;
  const checkKeys = (): void => {
    if (stopped) return;
    if (checking) {
      checkAgain = true;
      return;
    }
    checking = (async () => {
      do {
        checkAgain = false;
        for (const [keyHash, connections] of [...byKey]) {
          if (stopped) return;
          const connection = [...connections][0]?.extra.connection;
          if (!connection) continue;
          try {
            await authenticate(prisma, connection.authorization, { recordUse: false });
          } catch (e) {
            if (e instanceof AppError && e.code === 'UNAUTHENTICATED') {
              const sockets = [...(byKey.get(keyHash) ?? [])];
              log.info('closing WebSocket connections: their API key is no longer valid', {
                apiKeyId: connection.principal.apiKeyId, connections: sockets.length,
              });
              for (const c of sockets) closeUnauthorized(c.extra.socket, e.message);
            } else if (!isDatabaseUnavailable(e)) {
              log.error('checking the API key of open WebSocket connections failed', { apiKeyId: connection.principal.apiKeyId, err: e });
            }
          }
        }
      } while (checkAgain && !stopped);
    })().finally(() => {
      checking = null;
    });
  };
  const keyCheck = setInterval(checkKeys, keyCheckMs);
  keyCheck.unref();
  const stopListening = onApiKeysForgotten(prisma, checkKeys);

  return {
    dispose: async () => {
      stopped = true;
      clearInterval(keyCheck);
      stopListening();
      // A check in progress stops after its current key; one stuck on a silent database does not hold the stop.
      if (checking) {
        let waited: NodeJS.Timeout | undefined;
        await Promise.race([checking, new Promise<void>((resolve) => (waited = setTimeout(resolve, CHECK_STOP_WAIT_MS)))]);
        clearTimeout(waited);
      }
      // A client that does not answer the close handshake would hold the stop for ws's 30 s.
      const stragglers = setTimeout(() => {
        for (const client of wss.clients) client.terminate();
      }, CLOSE_HANDSHAKE_MS);
      try {
        await server.dispose();
      } finally {
        clearTimeout(stragglers);
      }
    },
  };
}

/** Over HTTP a subscription has nothing to stream: refused (400 BAD_REQUEST) with where to send it. */
export function refuseSubscriptionsOverHttp(): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation }) {
          if (operation?.operation !== 'subscription') return;
          throw new GraphQLError('Subscriptions are served over WebSocket (graphql-ws, subprotocol graphql-transport-ws) on this same URL.', {
            extensions: { code: 'BAD_REQUEST', http: { status: 400 } },
          });
        },
      };
    },
  };
}
